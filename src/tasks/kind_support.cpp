#include "kind_support.h"

namespace nddr::kinds {

namespace F = torch::nn::functional;

LossTerms masked_cross_entropy(const torch::Tensor& logits, const torch::Tensor& labels,
                               int64_t ignore) {
  auto total = F::nll_loss(torch::log_softmax(logits, 1), labels,
                           F::NLLLossFuncOptions().ignore_index(ignore).reduction(torch::kSum));
  return {total, (labels != ignore).sum().to(total.scalar_type())};
}

LossTerms masked_sum(const torch::Tensor& values, const torch::Tensor& valid) {
  auto mask = valid.to(values.scalar_type());
  return {(values * mask).sum(), mask.sum()};
}

torch::Tensor counts_tensor(const std::vector<int64_t>& counts) {
  return torch::tensor(counts, torch::kLong);
}

std::vector<int64_t> counts_of(const MetricState& state, size_t expected) {
  TORCH_CHECK(state.counts.dim() == 1 && static_cast<size_t>(state.counts.numel()) == expected,
              "metric state: expected ", expected, " counts, got ", state.counts.sizes());
  const auto counts = state.counts.to(torch::kLong).contiguous();
  return {counts.data_ptr<int64_t>(), counts.data_ptr<int64_t>() + counts.numel()};
}

torch::Tensor to_cpu_double(const torch::Tensor& tensor) {
  return tensor.detach().to(torch::kCPU, torch::kDouble).contiguous();
}

torch::Tensor flip_width(const torch::Tensor& target) { return target.flip({-1}); }

std::vector<int64_t> plane_shape(int64_t height, int64_t width) { return {height, width}; }

std::function<std::vector<int64_t>(int64_t, int64_t)> map_shape(int64_t channels) {
  return [channels](int64_t height, int64_t width) {
    return std::vector<int64_t>{channels, height, width};
  };
}

}  // namespace nddr::kinds
