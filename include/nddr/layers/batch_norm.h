#pragma once
// The BatchNorm of every nddr network: torch::nn::BatchNorm2d (same options,
// parameter and buffer names, so weights and fold/export code see a plain
// BatchNorm2dImpl through as<>), which can be switched to SyncBatchNorm.
//
// Synchronised, a training-mode forward normalises with the mean and biased
// variance of the whole batch across all ranks (all-reduced sums of x, then
// of (x - mean)^2, a two-pass form that stays accurate in float), updates the
// running statistics with them (unbiased variance, as torch does), and the
// backward pass all-reduces sum(dy) and sum(dy * x_hat), so each rank's input
// gradient is exactly its slice of the gradient that one process computes on
// the concatenated batch. Weight and bias gradients stay per rank: the
// gradient average across ranks completes them.

#include <torch/torch.h>

#include <memory>

#include "nddr/util/collective.h"

namespace nddr {

class BatchNorm2dImpl : public torch::nn::BatchNorm2dImpl {
 public:
  using torch::nn::BatchNorm2dImpl::BatchNorm2dImpl;

  torch::Tensor forward(const torch::Tensor& input);

  /// Non-null: synchronise training-mode statistics over `collective`'s ranks.
  void set_sync(std::shared_ptr<Collective> collective) { sync_ = std::move(collective); }
  bool synchronised() const { return sync_ != nullptr; }

  /// A deep copy of this type (the base class's would slice it to torch's).
  std::shared_ptr<torch::nn::Module> clone(
      const torch::optional<torch::Device>& device = torch::nullopt) const override;

 private:
  std::shared_ptr<Collective> sync_;
};

TORCH_MODULE(BatchNorm2d);

/// Makes every nddr BatchNorm2d inside `module` synchronise over
/// `collective` (null: back to per-rank statistics). Returns how many.
int64_t set_sync_batch_norm(torch::nn::Module& module, std::shared_ptr<Collective> collective);

/// SyncBatchNorm's training-mode forward as a function: normalises `input`
/// [N,C,...] with statistics over every rank's batch, updates `running_mean`
/// and `running_var` in place (momentum as in torch) and returns the output,
/// with the synchronised backward attached. `weight`/`bias` may be undefined.
torch::Tensor sync_batch_norm(const torch::Tensor& input, const torch::Tensor& weight,
                              const torch::Tensor& bias, torch::Tensor running_mean,
                              torch::Tensor running_var, double momentum, double eps,
                              Collective& collective);

}  // namespace nddr
