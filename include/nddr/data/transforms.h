#pragma once
// Training augmentation (random scale, horizontal flip, random crop with
// padding) and image normalisation, as in the reference NYUv2 recipe.
//
//   auto image = nddr::normalize(sample.image, nddr::NormalizeOptions().mode("bgr_mean"));
//   sample.image = image;
//   sample = nddr::augment(std::move(sample),
//                          nddr::AugmentOptions().scale_min(0.5).scale_max(1.5).flip(true)
//                              .crop_height(321).crop_width(321),
//                          rng, tasks);

#include <torch/torch.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "nddr/data/dataset.h"
#include "nddr/tasks/task.h"

namespace nddr {

struct AugmentOptions {
  /// Scale factor drawn uniformly from [scale_min, scale_max); the image is
  /// resized bilinearly, dense targets by nearest neighbour. 1 and 1: no scaling.
  TORCH_ARG(double, scale_min) = 1.0;
  TORCH_ARG(double, scale_max) = 1.0;
  /// Horizontal flip with probability 0.5; the normals' x component is negated.
  TORCH_ARG(bool, flip) = false;
  /// Random crop size; 0 leaves that side uncropped. A smaller image is first
  /// padded at the bottom and right: image 0, labels 255, normals and depth 0.
  TORCH_ARG(int64_t, crop_height) = 0;
  TORCH_ARG(int64_t, crop_width) = 0;
};

/// Normalisation modes accepted by NormalizeOptions::mode.
extern const std::vector<std::string> kNormalizeModes;

/// The reference code's per-channel mean, in BGR order, on the 0..255 scale.
extern const std::vector<double> kReferenceBgrMean;

struct NormalizeOptions {
  /// "none": RGB in [0,1] as is; "mean_std": (x - mean) / stddev per RGB
  /// channel on [0,1]; "bgr_mean": the reference code's RGB -> BGR, x * 255
  /// minus kReferenceBgrMean.
  TORCH_ARG(std::string, mode) = "none";
  /// Per-channel RGB mean and standard deviation for "mean_std" (ImageNet's).
  TORCH_ARG(std::vector<double>, mean) = {0.485, 0.456, 0.406};
  TORCH_ARG(std::vector<double>, stddev) = {0.229, 0.224, 0.225};
};

/// Error naming the option at fault (scale range, negative crop size).
void validate(const AugmentOptions& options);
/// Error naming the option at fault (unknown mode, size of mean/stddev, stddev <= 0).
void validate(const NormalizeOptions& options);

/// Randomly scales, flips and crops an image and its dense targets alike,
/// drawing scale, then flip, then crop offsets from `rng`. Targets are read
/// with the layouts of `tasks` (tasks/task.h); targets of tasks not listed are
/// dropped, classification targets pass through. The image should already be
/// normalised: its padding is 0, i.e. the mean in normalised space, as in the
/// reference code. Dense targets must have the image's height and width.
Sample augment(Sample sample, const AugmentOptions& options, std::mt19937_64& rng,
               const std::vector<TaskSpec>& tasks);

/// Normalises a float RGB image [3,H,W] or a batch [N,3,H,W] with values in [0,1].
torch::Tensor normalize(const torch::Tensor& image, const NormalizeOptions& options);

}  // namespace nddr
