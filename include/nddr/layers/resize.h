#pragma once
// Resizing one feature map to another's spatial size, written so that a
// TorchScript trace of it stays size-generic.

#include <torch/torch.h>

namespace nddr {

/// `map` [N,C,h,w] resized bilinearly to `reference`'s [H,W] (its last two
/// sizes). Under LibTorch's C++ tracer the target size is recorded as
/// `reference`'s traced sizes, not as constants, so a traced network accepts
/// other input sizes.
torch::Tensor resize_bilinear_like(const torch::Tensor& map, const torch::Tensor& reference,
                                   bool align_corners);

}  // namespace nddr
