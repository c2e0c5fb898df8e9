#include "nddr/layers/max_pool.h"

#include <torch/csrc/jit/frontend/tracer.h>

#include <limits>

namespace nddr {

namespace {

namespace F = torch::nn::functional;

bool separable(const torch::Tensor& input, const torch::nn::MaxPool2dOptions& options) {
  const auto& dilation = *options.dilation();
  return input.device().is_cpu() && input.dim() == 4 && input.is_floating_point() &&
         !(torch::GradMode::is_enabled() && input.requires_grad()) && !options.ceil_mode() &&
         dilation[0] == 1 && dilation[1] == 1 && !torch::jit::tracer::isTracing();
}

// The maximum over `kernel` views of `padded` along `dim`, view i starting at
// i and stepping by `stride`, `size` outputs long.
torch::Tensor max_along(const torch::Tensor& padded, int64_t dim, int64_t kernel, int64_t stride,
                        int64_t size) {
  torch::Tensor result;
  for (int64_t i = 0; i < kernel; ++i) {
    const auto view = padded.slice(dim, i, i + stride * (size - 1) + 1, stride);
    result = result.defined() ? torch::maximum(result, view) : view;
  }
  return result;
}

}  // namespace

torch::Tensor max_pool2d(const torch::Tensor& input, const torch::nn::MaxPool2dOptions& options) {
  if (!separable(input, options)) return F::max_pool2d(input, options);
  const auto& kernel = *options.kernel_size();
  const auto& stride = *options.stride();
  const auto& padding = *options.padding();
  // max_pool2d's own checks (padding at most half the kernel, a non-empty
  // output) and messages apply: it runs on inputs it would reject.
  const int64_t height = input.size(2), width = input.size(3);
  const int64_t out_height = (height + 2 * padding[0] - kernel[0]) / stride[0] + 1;
  const int64_t out_width = (width + 2 * padding[1] - kernel[1]) / stride[1] + 1;
  if (2 * padding[0] > kernel[0] || 2 * padding[1] > kernel[1] || out_height < 1 || out_width < 1) {
    return F::max_pool2d(input, options);
  }
  const auto padded =
      torch::constant_pad_nd(input, {padding[1], padding[1], padding[0], padding[0]},
                             -std::numeric_limits<double>::infinity());
  const auto rows = max_along(padded, 3, kernel[1], stride[1], out_width);
  return max_along(rows, 2, kernel[0], stride[0], out_height)
      .contiguous(input.suggest_memory_format());
}

}  // namespace nddr
