#include "nddr/weighting/weighting.h"

#include "methods.h"
#include "nddr/util/error.h"

namespace nddr {

torch::Tensor Weighting::combine(const torch::Tensor& /*losses*/, const torch::Tensor& /*values*/,
                                 const WeightingContext& /*context*/) {
  TORCH_CHECK(false, "combine() called on a gradient-based weighting");
}

torch::Tensor Weighting::gradient_weights(const torch::Tensor& /*gram*/,
                                          const torch::Tensor& /*values*/,
                                          const WeightingContext& /*context*/) {
  TORCH_CHECK(false, "gradient_weights() called on a loss-based weighting");
}

void Weighting::record(const torch::Tensor& weights) {
  const torch::Tensor cpu = weights.detach().to(torch::kCPU, torch::kDouble).contiguous();
  last_weights_.assign(cpu.data_ptr<double>(), cpu.data_ptr<double>() + cpu.numel());
}

Registry<WeightingFactory>& weighting_registry() {
  static Registry<WeightingFactory> registry = [] {
    Registry<WeightingFactory> builtin("weighting method");
    register_loss_weightings(builtin);
    register_gradient_weightings(builtin);
    return builtin;
  }();
  return registry;
}

std::shared_ptr<Weighting> make_weighting(const WeightingSpec& spec, int64_t num_tasks) {
  if (num_tasks < 1) throw Error("a weighting needs at least one task");
  return weighting_registry().get(spec.method)(spec, num_tasks);
}

std::mt19937_64 step_generator(int64_t seed, int64_t step, uint64_t stream) {
  const auto low = [](uint64_t x) { return static_cast<uint32_t>(x); };
  const auto high = [](uint64_t x) { return static_cast<uint32_t>(x >> 32); };
  const uint64_t s = static_cast<uint64_t>(seed), k = static_cast<uint64_t>(step);
  std::seed_seq sequence{low(s), high(s), low(k), high(k), low(stream), high(stream)};
  return std::mt19937_64(sequence);
}

std::vector<double> to_vector(const torch::Tensor& tensor) {
  const torch::Tensor cpu = tensor.detach().to(torch::kCPU, torch::kDouble).contiguous();
  return std::vector<double>(cpu.data_ptr<double>(), cpu.data_ptr<double>() + cpu.numel());
}

torch::Tensor to_tensor(const std::vector<double>& values) {
  return torch::tensor(values, torch::kDouble);
}

SmallMatrix to_matrix(const torch::Tensor& gram) {
  return SmallMatrix{gram.size(0), to_vector(gram)};
}

}  // namespace nddr
