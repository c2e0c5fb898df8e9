#include "nddr/tasks/visualize.h"

#include <string>

#include "nddr/tasks/task_kind.h"
#include "nddr/util/error.h"

namespace nddr {

namespace {

constexpr int64_t kPaletteSize = 256;

/// PASCAL VOC's palette: the bits of the index are dealt out to R, G, B from
/// the most significant bit down, so nearby indices get very different colours
/// and all 256 colours are distinct.
torch::Tensor voc_palette() {
  auto palette = torch::zeros({kPaletteSize, 3}, torch::kUInt8);
  auto* data = palette.data_ptr<uint8_t>();
  for (int64_t index = 0; index < kPaletteSize; ++index) {
    int64_t bits = index;
    int rgb[3] = {0, 0, 0};
    for (int shift = 7; shift >= 0; --shift) {
      for (int channel = 0; channel < 3; ++channel)
        rgb[channel] |= ((bits >> channel) & 1) << shift;
      bits >>= 3;
    }
    for (int channel = 0; channel < 3; ++channel) {
      data[index * 3 + channel] = static_cast<uint8_t>(rgb[channel]);
    }
  }
  return palette;
}

/// matplotlib's viridis at 0, 1/8, ..., 1.
const double kViridisStops[9][3] = {{68, 1, 84},    {71, 45, 123},  {59, 82, 139},
                                    {44, 114, 142}, {33, 145, 140}, {40, 174, 128},
                                    {94, 201, 98},  {173, 220, 48}, {253, 231, 37}};

}  // namespace

torch::Tensor colorize_segmentation(const torch::Tensor& labels) {
  TORCH_CHECK(labels.dim() == 2, "colorize_segmentation: labels must be [H,W], got ",
              labels.sizes());
  auto values = labels.to(torch::kCPU, torch::kLong);
  if (values.numel() > 0) {
    const int64_t low = values.min().item<int64_t>();
    const int64_t high = values.max().item<int64_t>();
    if (low < 0 || high > kIgnoreLabel) {
      throw Error("colorize_segmentation: label " + std::to_string(low < 0 ? low : high) +
                  " is outside [0, 254] and is not the ignore label 255");
    }
  }
  static const torch::Tensor palette = voc_palette();
  // Shift by one so label 0 avoids VOC's black; 255 wraps onto it.
  auto index = (values + 1).remainder(kPaletteSize);
  return palette.index_select(0, index.flatten()).view({labels.size(0), labels.size(1), 3});
}

torch::Tensor colorize_normals(const torch::Tensor& normals) {
  TORCH_CHECK(normals.dim() == 3 && normals.size(0) == 3,
              "colorize_normals: normals must be [3,H,W], got ", normals.sizes());
  auto scaled = (normals.to(torch::kCPU, torch::kDouble) + 1) / 2 * 255;
  return scaled.round().clamp(0, 255).permute({1, 2, 0}).to(torch::kUInt8).contiguous();
}

torch::Tensor viridis(const torch::Tensor& values) {
  static const torch::Tensor stops =
      torch::from_blob(const_cast<double*>(&kViridisStops[0][0]), {9, 3}, torch::kDouble).clone();
  const int64_t segments = stops.size(0) - 1;
  auto position = values.to(torch::kCPU, torch::kDouble).clamp(0, 1).flatten() * segments;
  auto lower = position.floor().clamp_max(segments - 1);
  auto fraction = (position - lower).unsqueeze(1);
  auto index = lower.to(torch::kLong);
  auto rgb =
      stops.index_select(0, index) * (1 - fraction) + stops.index_select(0, index + 1) * fraction;
  auto shape = values.sizes().vec();
  shape.push_back(3);
  return rgb.round().to(torch::kUInt8).view(shape);
}

torch::Tensor colorize_prediction(const TaskSpec& task, const torch::Tensor& output) {
  if (!task.kind->colorize)
    throw Error("colorize_prediction: task '" + task.name + "' is not dense");
  return task.kind->colorize(output);
}

torch::Tensor colorize_depth(const torch::Tensor& depth, c10::optional<double> min,
                             c10::optional<double> max) {
  TORCH_CHECK(depth.dim() == 2 || (depth.dim() == 3 && depth.size(0) == 1),
              "colorize_depth: depth must be [H,W] or [1,H,W], got ", depth.sizes());
  auto values = depth.to(torch::kCPU, torch::kDouble).reshape({depth.size(-2), depth.size(-1)});
  auto valid = (values > 0) & torch::isfinite(values);
  auto image = torch::zeros({values.size(0), values.size(1), 3}, torch::kUInt8);
  if (!valid.any().item<bool>()) return image;
  auto valid_values = values.masked_select(valid);
  const double low = min.value_or(valid_values.min().item<double>());
  const double high = max.value_or(valid_values.max().item<double>());
  if (low > high) {
    throw Error("colorize_depth: min " + std::to_string(low) + " is above max " +
                std::to_string(high));
  }
  // A flat range has no scale: every valid pixel gets the middle colour.
  auto scaled = high > low ? (values - low) / (high - low) : torch::full_like(values, 0.5);
  return torch::where(valid.unsqueeze(2), viridis(scaled), image);
}

}  // namespace nddr
