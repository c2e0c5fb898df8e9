#include "nddr/train/loss_scaler.h"

#include <cmath>
#include <string>

#include "nddr/util/error.h"

namespace nddr {

LossScaler::LossScaler(LossScalerOptions options) : options_(options) {
  if (!(options_.init_scale() > 0.0) || !std::isfinite(options_.init_scale())) {
    throw Error("loss scaler: init_scale must be positive, got " +
                std::to_string(options_.init_scale()));
  }
  if (!(options_.growth_factor() > 1.0)) {
    throw Error("loss scaler: growth_factor must be > 1, got " +
                std::to_string(options_.growth_factor()));
  }
  if (!(options_.backoff_factor() > 0.0 && options_.backoff_factor() < 1.0)) {
    throw Error("loss scaler: backoff_factor must lie in (0, 1), got " +
                std::to_string(options_.backoff_factor()));
  }
  if (options_.growth_interval() < 1) {
    throw Error("loss scaler: growth_interval must be >= 1, got " +
                std::to_string(options_.growth_interval()));
  }
  state_.scale = options_.init_scale();
}

void LossScaler::set_state(const LossScalerState& state) {
  if (!(state.scale > 0.0) || !std::isfinite(state.scale) || state.growth_tracker < 0) {
    throw Error("loss scaler: invalid state (scale " + std::to_string(state.scale) +
                ", growth tracker " + std::to_string(state.growth_tracker) + ")");
  }
  state_ = state;
}

torch::Tensor LossScaler::scale_loss(const torch::Tensor& loss) const {
  return loss * state_.scale;
}

bool LossScaler::unscale(const std::vector<torch::Tensor>& parameters) const {
  torch::NoGradGuard no_grad;
  const double inverse = 1.0 / state_.scale;
  std::vector<torch::Tensor> finite;
  for (const auto& parameter : parameters) {
    torch::Tensor grad = parameter.grad();
    if (!grad.defined()) continue;
    grad.mul_(inverse);
    finite.push_back(torch::isfinite(grad).all());
  }
  if (finite.empty()) return true;
  return torch::stack(finite).all().item<bool>();
}

void LossScaler::update(bool finite) {
  if (!finite) {
    state_.scale *= options_.backoff_factor();
    state_.growth_tracker = 0;
    return;
  }
  if (++state_.growth_tracker >= options_.growth_interval()) {
    state_.scale *= options_.growth_factor();
    state_.growth_tracker = 0;
  }
}

bool LossScaler::step(torch::optim::Optimizer& optimizer) {
  std::vector<torch::Tensor> parameters;
  for (const auto& group : optimizer.param_groups()) {
    for (const auto& parameter : group.params()) parameters.push_back(parameter);
  }
  const bool finite = unscale(parameters);
  if (finite) optimizer.step();
  update(finite);
  return finite;
}

}  // namespace nddr
