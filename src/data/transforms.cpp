#include "nddr/data/transforms.h"

#include <algorithm>

#include "nddr/tasks/losses.h"
#include "nddr/tasks/task_kind.h"
#include "nddr/util/error.h"
#include "nddr/util/random.h"
#include "nddr/util/strings.h"

namespace nddr {

const std::vector<std::string> kNormalizeModes = {"none", "mean_std", "bgr_mean"};
const std::vector<double> kReferenceBgrMean = {104.00699, 116.66877, 122.67891};

namespace {

namespace F = torch::nn::functional;

torch::Tensor resize_bilinear(const torch::Tensor& image, int64_t height, int64_t width) {
  return F::interpolate(image.unsqueeze(0), F::InterpolateFuncOptions()
                                                .size(std::vector<int64_t>{height, width})
                                                .mode(torch::kBilinear)
                                                .align_corners(false))
      .squeeze(0);
}

// Pads at the bottom and right to at least (height, width), then takes the
// window at (top, left).
torch::Tensor pad_and_crop(const torch::Tensor& tensor, int64_t height, int64_t width, int64_t top,
                           int64_t left, double pad_value) {
  const int64_t h = tensor.size(-2);
  const int64_t w = tensor.size(-1);
  auto padded = tensor;
  if (h < height || w < width) {
    padded = torch::constant_pad_nd(
        tensor, {0, std::max<int64_t>(0, width - w), 0, std::max<int64_t>(0, height - h)},
        pad_value);
  }
  return padded.narrow(-2, top, height).narrow(-1, left, width);
}

}  // namespace

void validate(const AugmentOptions& options) {
  if (!(options.scale_min() > 0) || !(options.scale_max() >= options.scale_min())) {
    throw Error("augment: need 0 < scale_min <= scale_max, got scale_min " +
                std::to_string(options.scale_min()) + " and scale_max " +
                std::to_string(options.scale_max()));
  }
  if (options.crop_height() < 0 || options.crop_width() < 0) {
    throw Error("augment: crop_height and crop_width must be >= 0 (0: no crop), got " +
                std::to_string(options.crop_height()) + " and " +
                std::to_string(options.crop_width()));
  }
}

void validate(const NormalizeOptions& options) {
  if (std::find(kNormalizeModes.begin(), kNormalizeModes.end(), options.mode()) ==
      kNormalizeModes.end()) {
    throw Error("normalize: unknown mode '" + options.mode() + "'" +
                did_you_mean(options.mode(), kNormalizeModes) +
                "; valid: " + join(kNormalizeModes, ", "));
  }
  if (options.mode() != "mean_std") return;
  if (options.mean().size() != 3 || options.stddev().size() != 3) {
    throw Error("normalize: mean and stddev need 3 values (R, G, B), got " +
                std::to_string(options.mean().size()) + " and " +
                std::to_string(options.stddev().size()));
  }
  for (double value : options.stddev()) {
    if (!(value > 0))
      throw Error("normalize: stddev values must be > 0, got " + std::to_string(value));
  }
}

Sample augment(Sample sample, const AugmentOptions& options, std::mt19937_64& rng,
               const std::vector<TaskSpec>& tasks) {
  validate(options);
  TORCH_CHECK(sample.image.dim() == 3, "augment: image must be [C,H,W], got ",
              sample.image.sizes());
  const int64_t height = sample.image.size(1);
  const int64_t width = sample.image.size(2);

  std::vector<std::pair<TaskSpec, torch::Tensor>> targets;
  for (const auto& task : tasks) {
    auto it = sample.targets.find(task.name);
    if (it == sample.targets.end()) continue;
    if (is_dense(task.kind) &&
        (it->second.dim() < 2 || it->second.size(-2) != height || it->second.size(-1) != width)) {
      throw Error("augment: target '" + task.name + "' has shape " + c10::str(it->second.sizes()) +
                  " but the image is " + std::to_string(height) + "x" + std::to_string(width));
    }
    targets.emplace_back(task, it->second);
  }
  auto image = sample.image;

  if (options.scale_min() != 1.0 || options.scale_max() != 1.0) {
    const double scale = options.scale_min() == options.scale_max()
                             ? options.scale_min()
                             : options.scale_min() + (options.scale_max() - options.scale_min()) *
                                                         detail::uniform01(rng);
    // Truncation, as the reference code's int32 cast.
    const int64_t new_height = std::max<int64_t>(1, static_cast<int64_t>(height * scale));
    const int64_t new_width = std::max<int64_t>(1, static_cast<int64_t>(width * scale));
    if (new_height != height || new_width != width) {
      image = resize_bilinear(image, new_height, new_width);
      for (auto& [task, target] : targets) {
        target = resize_target_nearest(target, task.kind, new_height, new_width);
      }
    }
  }

  if (options.flip() && detail::uniform01(rng) < 0.5) {
    image = image.flip({-1});
    for (auto& [task, target] : targets) {
      target = task.kind->flip(target);
    }
  }

  if (options.crop_height() > 0 || options.crop_width() > 0) {
    const int64_t h = image.size(1);
    const int64_t w = image.size(2);
    const int64_t crop_h = options.crop_height() > 0 ? options.crop_height() : h;
    const int64_t crop_w = options.crop_width() > 0 ? options.crop_width() : w;
    const int64_t top = static_cast<int64_t>(
        detail::uniform_below(rng, static_cast<uint64_t>(std::max(h, crop_h) - crop_h + 1)));
    const int64_t left = static_cast<int64_t>(
        detail::uniform_below(rng, static_cast<uint64_t>(std::max(w, crop_w) - crop_w + 1)));
    image = pad_and_crop(image, crop_h, crop_w, top, left, 0.0);
    for (auto& [task, target] : targets) {
      if (is_dense(task.kind)) {
        target = pad_and_crop(target, crop_h, crop_w, top, left, task.kind->invalid_value);
      }
    }
  }

  Sample result;
  result.image = image;
  for (auto& [task, target] : targets) result.targets[task.name] = target;
  return result;
}

torch::Tensor normalize(const torch::Tensor& image, const NormalizeOptions& options) {
  validate(options);
  TORCH_CHECK((image.dim() == 3 || image.dim() == 4) && image.size(-3) == 3,
              "normalize: image must be [3,H,W] or [N,3,H,W], got ", image.sizes());
  TORCH_CHECK(image.is_floating_point(), "normalize: image must be floating point, got ",
              image.scalar_type());
  const int64_t channel_dim = image.dim() - 3;
  std::vector<int64_t> shape(image.dim(), 1);
  shape[channel_dim] = 3;
  auto per_channel = [&](const std::vector<double>& values) {
    return torch::tensor(values, torch::kDouble).to(image.scalar_type()).view(shape);
  };
  if (options.mode() == "mean_std") {
    return (image - per_channel(options.mean())) / per_channel(options.stddev());
  }
  if (options.mode() == "bgr_mean") {
    return image.flip({channel_dim}) * 255.0 - per_channel(kReferenceBgrMean);
  }
  return image;
}

}  // namespace nddr
