#include "nddr/backbones/backbone.h"

namespace nddr {

Registry<BackboneFactory>& backbone_registry() {
  static Registry<BackboneFactory> registry("backbone");
  return registry;
}

std::unique_ptr<Backbone> make_backbone(const BackboneOptions& options) {
  return backbone_registry().get(options.name)(options);
}

}  // namespace nddr
