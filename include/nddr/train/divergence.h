#pragma once
// Divergence: a loss, gradient or weight that is NaN or Inf. The trainer
// checks every step's losses and gradients and the weights before each
// checkpoint, so a diverged run stops (or skips the step) instead of
// training on garbage and overwriting its last good checkpoint.

#include <torch/torch.h>

#include <map>
#include <string>

#include "nddr/util/error.h"

namespace nddr {

/// Training diverged; the message names the step and the task or tensor.
class DivergenceError : public Error {
 public:
  using Error::Error;
};

/// "" when every loss is finite, else "task 'seg' loss is nan".
std::string non_finite_loss(const std::map<std::string, double>& losses);

/// "" when every gradient of `module` is finite, else "the gradient of
/// 'columns.seg.fc8.weight' is not finite". One reduction and one device
/// sync per call; the parameter is looked for only when something is wrong.
std::string non_finite_gradient(const torch::nn::Module& module);

/// "" when every parameter and buffer is finite, else "'name' is not finite".
std::string non_finite_weight(const torch::nn::Module& module);

}  // namespace nddr
