#pragma once
// VGG-16 DeepLab-LargeFOV with BatchNorm: five stages ending at pool1..pool5
// (64, 128, 256, 512, 512 channels; strides 2, 4, 8, 8, 8).

#include <memory>

#include "nddr/backbones/backbone.h"

namespace nddr {

/// The "vgg16_largefov" backbone. options.output_stride is 8 (the paper's
/// LargeFOV), or 4 / 2 for small images: pool3 (and pool2) then keep stride 1
/// and the convs after them dilate 2x (4x) more, so logits come out at 1/4
/// (1/2) of the input with the same receptive fields in input pixels.
std::unique_ptr<Backbone> make_vgg16_largefov(const BackboneOptions& options);

}  // namespace nddr
