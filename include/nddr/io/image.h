#pragma once
// PNG (stb_image) and JPEG (libjpeg-turbo) files as [H,W,C] tensors: the
// datasets' images, label maps and surface-normal maps.

#include <torch/torch.h>

#include <string>

namespace nddr {

/// Reads an image file as [H,W,C]: uint8 for 8-bit files, int32 holding the
/// raw 0..65535 values for 16-bit PNGs (depth maps). `channels` 1..4 converts
/// (e.g. 3 for RGB, 1 for a label map read as grey); 0 keeps the file's count.
/// A missing or corrupt file is an Error naming the file and the decoder's reason.
torch::Tensor read_image(const std::string& path, int64_t channels = 0);

/// Writes a uint8 image [H,W,C] (C in 1..4) or [H,W] (grey) as PNG, atomically.
void write_png(const std::string& path, const torch::Tensor& image);

/// The PNG file's bytes of such an image; errors name `what` (e.g. a path).
std::string encode_png(const torch::Tensor& image, const std::string& what = "image");

}  // namespace nddr
