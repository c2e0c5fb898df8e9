#pragma once
// Dynamic loss scaling for fp16 training: the loss is multiplied by a large
// scale before backward so small gradients survive fp16's range; the
// gradients are divided by it again before the optimizer step. A step whose
// gradients hold an inf or NaN is skipped and the scale shrinks; after
// growth_interval good steps in a row it grows. The same rule as PyTorch's
// GradScaler. The state (scale, good-step count) goes into checkpoints.
//
//   LossScaler scaler;
//   scaler.scale_loss(loss).backward();
//   const bool stepped = scaler.step(optimizer);  // unscale, step if finite, update

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace nddr {

struct LossScalerOptions {
  TORCH_ARG(double, init_scale) = 65536.0;
  /// Factor applied after growth_interval finite steps in a row.
  TORCH_ARG(double, growth_factor) = 2.0;
  /// Factor applied when a step's gradients are not finite.
  TORCH_ARG(double, backoff_factor) = 0.5;
  TORCH_ARG(int64_t, growth_interval) = 2000;
};

/// What a checkpoint stores to resume scaling exactly.
struct LossScalerState {
  double scale = 0.0;
  int64_t growth_tracker = 0;  ///< finite steps since the last change
};

class LossScaler {
 public:
  /// Error when an option is out of range (scale <= 0, factors, interval < 1).
  explicit LossScaler(LossScalerOptions options = {});

  double scale() const { return state_.scale; }
  const LossScalerState& state() const { return state_; }
  /// Restores a checkpoint's state; Error when the scale is not positive.
  void set_state(const LossScalerState& state);

  /// loss * scale, for backward.
  torch::Tensor scale_loss(const torch::Tensor& loss) const;
  /// Divides every defined gradient of `parameters` by the scale, in place;
  /// true when every gradient is finite (one host sync for all of them).
  bool unscale(const std::vector<torch::Tensor>& parameters) const;
  /// Shrinks the scale after a non-finite step, grows it after
  /// growth_interval finite ones.
  void update(bool finite);
  /// unscale, optimizer.step() if finite, update; true when it stepped.
  bool step(torch::optim::Optimizer& optimizer);

 private:
  LossScalerOptions options_;
  LossScalerState state_;
};

}  // namespace nddr
