#pragma once
// A 1x1 convolution (stride 1, no padding, one group), equal to
// torch::conv2d(input, weight, bias), run on the CPU in float32 through
// oneDNN (LibTorch's mkldnn_convolution) whenever LibTorch itself would not.
//
// Why: LibTorch 1.13 sends a 1x1 convolution of fewer than 16 images on one
// thread to its reference kernel (a BLAS GEMM per image), on the grounds that
// it is faster there. On this project's CPUs it was not: the NDDR layers'
// and the DeepLab head's 1x1 convolutions took 1.2x to 1.8x longer forward
// and about 1.2x longer forward plus backward than through oneDNN
// (docs/performance.md). Traced forwards (exported files keep plain
// aten::conv2d, which every runtime and device reads), autocast regions
// (where conv2d's dtype policy must apply), other devices and dtypes go to
// torch::conv2d unchanged.

#include <torch/torch.h>

namespace nddr {

/// `weight` [out, in, 1, 1]; `bias` [out] or undefined.
torch::Tensor pointwise_conv2d(const torch::Tensor& input, const torch::Tensor& weight,
                               const torch::Tensor& bias = {});

}  // namespace nddr
