#pragma once
// Dilated ResNet (torchvision layout): stages stem (conv1, bn1, relu, maxpool),
// layer1, layer2, layer3, layer4. Output stride 8 dilates layer3 and layer4,
// output stride 16 only layer4.

#include <memory>

#include "nddr/backbones/backbone.h"

namespace nddr {

/// The "resnet<depth>" backbone, depth 18, 34, 50 or 101.
std::unique_ptr<Backbone> make_resnet(const BackboneOptions& options, int64_t depth);

}  // namespace nddr
