#pragma once
// Max pooling as torch::nn::functional::max_pool2d computes it, but for
// inference on the CPU as two separable passes of elementwise maxima over
// shifted strided views (rows, then columns).
//
// Why: LibTorch 1.13's CPU max_pool2d always computes the argmax indices and
// its NCHW kernel is not vectorised: on this project's CPUs a VGG stage's
// 3x3 pooling took 6x (stride 2) to 27x (stride 1) as long as the separable
// form (docs/performance.md), about a sixth of the whole forward pass. The
// maxima are exact, so the result is bit for bit the same. Where a gradient
// is wanted (training keeps max_pool2d's own backward), while tracing (an
// exported graph keeps aten::max_pool2d), on other devices and for options
// other than dilation 1 without ceil mode, it calls max_pool2d unchanged.

#include <torch/torch.h>

namespace nddr {

torch::Tensor max_pool2d(const torch::Tensor& input, const torch::nn::MaxPool2dOptions& options);

}  // namespace nddr
