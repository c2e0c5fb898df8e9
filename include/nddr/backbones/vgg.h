#pragma once
// VGG-16 DeepLab-LargeFOV with BatchNorm: five stages ending at pool1..pool5
// (64, 128, 256, 512, 512 channels; strides 2, 4, 8, 8, 8).

#include <memory>

#include "nddr/backbones/backbone.h"

namespace nddr {

/// The "vgg16_largefov" backbone; options.output_stride must be 8.
std::unique_ptr<Backbone> make_vgg16_largefov(const BackboneOptions& options);

}  // namespace nddr
