#pragma once
// Image and label-map files decoded into the layouts of tasks/task.h. Shared by
// the NYUv2 list files and the manifest; every Error names the file.

#include <torch/torch.h>

#include <string>

namespace nddr::detail {

/// An RGB image file (PNG, JPEG, ...) as float [3,H,W] in [0,1]; grey is
/// replicated, alpha dropped.
torch::Tensor read_rgb_image(const std::string& path);

/// A single-channel label PNG (8- or 16-bit) as int64 [H,W]; values must be
/// in [0, classes) or 255 (ignore).
torch::Tensor read_segmentation_png(const std::string& path, int64_t classes);

/// A 3-channel uint8 normals PNG decoded as v / 127.5 - 1 into float [3,H,W];
/// pixels with all three channels 255 are invalid and become the zero vector.
torch::Tensor read_normals_png(const std::string& path);

/// A single-channel 16-bit depth PNG times `scale` (0.001: millimetres to
/// metres) as float [1,H,W]; 0 stays 0, i.e. invalid.
torch::Tensor read_depth_png(const std::string& path, double scale);

/// Error unless `target` [...,H,W] has the height and width of `image` [3,H,W].
void check_same_size(const torch::Tensor& image, const std::string& image_path,
                     const torch::Tensor& target, const std::string& target_path);

}  // namespace nddr::detail
