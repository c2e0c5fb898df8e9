#include "label_maps.h"

#include "nddr/io/image.h"
#include "nddr/tasks/task.h"
#include "nddr/util/error.h"

namespace nddr::detail {

namespace {

std::string size_text(const torch::Tensor& tensor) {
  return std::to_string(tensor.size(-2)) + "x" + std::to_string(tensor.size(-1));
}

// [H,W,C] -> [C,H,W], read as a single-channel file or an Error.
torch::Tensor read_single_channel(const std::string& path, const std::string& what) {
  const auto pixels = read_image(path);
  if (pixels.size(2) != 1) {
    throw Error(what + " '" + path + "' has " + std::to_string(pixels.size(2)) +
                " channels, expected 1");
  }
  return pixels.select(2, 0);
}

}  // namespace

torch::Tensor read_rgb_image(const std::string& path) {
  return read_image(path, 3).permute({2, 0, 1}).to(torch::kFloat).div_(255.0);
}

torch::Tensor read_segmentation_png(const std::string& path, int64_t classes) {
  const auto labels = read_single_channel(path, "segmentation label map").to(torch::kLong);
  const auto bad = labels.ge(classes).logical_and(labels.ne(kIgnoreLabel));
  if (bad.any().item<bool>()) {
    throw Error("segmentation label map '" + path + "' holds label " +
                std::to_string(labels.masked_select(bad)[0].item<int64_t>()) + ", expected 0.." +
                std::to_string(classes - 1) + " or 255 (ignore)");
  }
  return labels;
}

torch::Tensor read_normals_png(const std::string& path) {
  const auto pixels = read_image(path);
  if (pixels.size(2) != 3 || pixels.scalar_type() != torch::kByte) {
    throw Error("normals map '" + path + "' must be an 8-bit 3-channel PNG, got " +
                std::to_string(pixels.size(2)) + " channels of " +
                (pixels.scalar_type() == torch::kByte ? "8" : "16") + " bits");
  }
  const auto chw = pixels.permute({2, 0, 1});
  const auto invalid = chw.eq(255).all(0, /*keepdim=*/true);
  return (chw.to(torch::kFloat) / 127.5f - 1.0f).masked_fill_(invalid, 0.0f);
}

torch::Tensor read_depth_png(const std::string& path, double scale) {
  const auto pixels = read_image(path);
  // 16-bit PNGs come back as int32; an 8-bit depth map cannot hold millimetres.
  if (pixels.size(2) != 1 || pixels.scalar_type() != torch::kInt) {
    throw Error("depth map '" + path + "' must be a 16-bit single-channel PNG, got " +
                std::to_string(pixels.size(2)) + " channels of " +
                (pixels.scalar_type() == torch::kByte ? "8" : "16") + " bits");
  }
  return (pixels.permute({2, 0, 1}).to(torch::kDouble) * scale).to(torch::kFloat);
}

void check_same_size(const torch::Tensor& image, const std::string& image_path,
                     const torch::Tensor& target, const std::string& target_path) {
  if (image.size(-2) != target.size(-2) || image.size(-1) != target.size(-1)) {
    throw Error("'" + target_path + "' is " + size_text(target) + " but its image '" + image_path +
                "' is " + size_text(image));
  }
}

}  // namespace nddr::detail
