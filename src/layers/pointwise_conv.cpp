#include "nddr/layers/pointwise_conv.h"

#include <ATen/Context.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/csrc/jit/frontend/tracer.h>

namespace nddr {

namespace {

// Autocast on the CPU is the AutocastCPU dispatch key not being excluded for
// this thread (what both LibTorch 1.13's is_cpu_enabled and 2.x's
// is_autocast_enabled(kCPU) read).
bool cpu_autocast_on() {
  return !c10::impl::tls_is_dispatch_key_excluded(c10::DispatchKey::AutocastCPU);
}

bool through_onednn(const torch::Tensor& input, const torch::Tensor& weight) {
  return at::hasMKLDNN() && at::globalContext().userEnabledMkldnn() && input.device().is_cpu() &&
         input.layout() == torch::kStrided && input.dim() == 4 &&
         input.scalar_type() == torch::kFloat && weight.scalar_type() == torch::kFloat &&
         weight.size(2) == 1 && weight.size(3) == 1 && !torch::jit::tracer::isTracing() &&
         !cpu_autocast_on();
}

}  // namespace

torch::Tensor pointwise_conv2d(const torch::Tensor& input, const torch::Tensor& weight,
                               const torch::Tensor& bias) {
  // Spelled per dimension: the defaults are one-element lists, which an
  // exported graph keeps and ONNX Runtime rejects.
  const std::vector<int64_t> ones = {1, 1}, zeros = {0, 0};
  if (through_onednn(input, weight)) {
    return at::mkldnn_convolution(input, weight, bias, /*padding=*/zeros, /*stride=*/ones,
                                  /*dilation=*/ones, /*groups=*/1);
  }
  return torch::conv2d(input, weight, bias, /*stride=*/ones, /*padding=*/zeros,
                       /*dilation=*/ones);
}

}  // namespace nddr
