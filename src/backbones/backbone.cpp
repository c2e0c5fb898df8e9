#include "nddr/backbones/backbone.h"

#include <cmath>

#include "nddr/backbones/resnet.h"
#include "nddr/backbones/vgg.h"
#include "nddr/util/error.h"

namespace nddr {

namespace {

// Explicit registration (not static initialisers in vgg.cpp / resnet.cpp),
// so the static-library linker cannot drop a backbone nobody names directly.
void register_builtin_backbones(Registry<BackboneFactory>& registry) {
  registry.add("vgg16_largefov", make_vgg16_largefov);
  for (int64_t depth : {18, 34, 50, 101}) {
    registry.add("resnet" + std::to_string(depth),
                 [depth](const BackboneOptions& options) { return make_resnet(options, depth); });
  }
}

}  // namespace

Registry<BackboneFactory>& backbone_registry() {
  static Registry<BackboneFactory> registry = [] {
    Registry<BackboneFactory> builtin("backbone");
    register_builtin_backbones(builtin);
    return builtin;
  }();
  return registry;
}

std::unique_ptr<Backbone> make_backbone(const BackboneOptions& options) {
  const auto& factory = backbone_registry().get(options.name);
  if (!(options.width > 0) || !std::isfinite(options.width)) {
    throw Error("backbone '" + options.name + "': width must be a positive number, got " +
                std::to_string(options.width));
  }
  if (options.in_channels < 1) {
    throw Error("backbone '" + options.name + "': in_channels must be >= 1, got " +
                std::to_string(options.in_channels));
  }
  return factory(options);
}

int64_t scale_channels(int64_t channels, double width) {
  return std::max<int64_t>(1, std::llround(static_cast<double>(channels) * width));
}

}  // namespace nddr
