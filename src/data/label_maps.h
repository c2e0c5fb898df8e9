#pragma once
// Image and label-map files decoded into the layouts of tasks/task.h. Shared by
// the NYUv2 list files and the manifest; every Error names the file.

#include <torch/torch.h>

#include <string>

namespace nddr::detail {

/// An RGB image file (PNG, JPEG, ...) as float [3,H,W] in [0,1]; grey is
/// replicated, alpha dropped.
torch::Tensor read_rgb_image(const std::string& path);

/// Error unless `target` [...,H,W] has the height and width of `image` [3,H,W].
void check_same_size(const torch::Tensor& image, const std::string& image_path,
                     const torch::Tensor& target, const std::string& target_path);

}  // namespace nddr::detail
