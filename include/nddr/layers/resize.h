#pragma once
// Resizing one feature map to another's spatial size, written so that a
// TorchScript trace of it stays size-generic.

#include <torch/torch.h>

#include <vector>

namespace nddr {

/// `map` [N,C,h,w] resized bilinearly to `reference`'s [H,W] (its last two
/// sizes). Under LibTorch's C++ tracer the target size is recorded as
/// `reference`'s traced sizes, not as constants, so a traced network accepts
/// other input sizes.
torch::Tensor resize_bilinear_like(const torch::Tensor& map, const torch::Tensor& reference,
                                   bool align_corners);

/// Every map of `stages` at the last one's spatial size: the others resized
/// by resize_bilinear_like, those already that size kept as they are. Used
/// by the units that merge several stages (shortcut, sluice).
std::vector<torch::Tensor> resize_to_last_stage(const std::vector<torch::Tensor>& stages,
                                                bool align_corners);

}  // namespace nddr
