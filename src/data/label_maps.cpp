#include "label_maps.h"

#include "nddr/io/image.h"
#include "nddr/util/error.h"

namespace nddr::detail {

namespace {

std::string size_text(const torch::Tensor& tensor) {
  return std::to_string(tensor.size(-2)) + "x" + std::to_string(tensor.size(-1));
}

}  // namespace

torch::Tensor read_rgb_image(const std::string& path) {
  return read_image(path, 3).permute({2, 0, 1}).to(torch::kFloat).div_(255.0);
}

void check_same_size(const torch::Tensor& image, const std::string& image_path,
                     const torch::Tensor& target, const std::string& target_path) {
  if (image.size(-2) != target.size(-2) || image.size(-1) != target.size(-1)) {
    throw Error("'" + target_path + "' is " + size_text(target) + " but its image '" + image_path +
                "' is " + size_text(image));
  }
}

}  // namespace nddr::detail
