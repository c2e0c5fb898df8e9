#pragma once
// SGD with one parameter group per ParamRole, each with its own base learning
// rate and weight decay, and the poly schedule that scales every group's own
// base rate (a schedule that writes one rate into every group silently drops
// the x100 NDDR multiplier).

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "nddr/models/multitask_net.h"

namespace nddr {

struct OptimizerOptions {
  TORCH_ARG(double, lr) = 1e-3;
  TORCH_ARG(double, momentum) = 0.9;
  TORCH_ARG(double, weight_decay) = 5e-4;
  /// NDDR / cross-stitch / sluice / shortcut parameters (x100 in the paper).
  TORCH_ARG(double, lr_mult_fusion) = 100.0;
  /// Heads' fc8 weights (x10) and biases (x20).
  TORCH_ARG(double, lr_mult_last_weight) = 10.0;
  TORCH_ARG(double, lr_mult_last_bias) = 20.0;
  /// Scales the weight decay of fusion weights (an ablation).
  TORCH_ARG(double, fusion_weight_decay_mult) = 1.0;
};

/// One parameter group: which role, and its unscheduled rate and decay.
struct ParamGroupInfo {
  ParamRole role;
  double base_lr;
  double weight_decay;
  int64_t num_tensors;
};

/// An SGD optimizer over `net` with one group per non-empty role, in
/// ParamRole order; `groups` describes them (same order as param_groups()).
std::unique_ptr<torch::optim::SGD> make_sgd(MultiTaskNetImpl& net, const OptimizerOptions& options,
                                            std::vector<ParamGroupInfo>& groups);

/// Poly schedule factor (1 - step/steps)^power, 0 at and after the end.
double poly_factor(int64_t step, int64_t steps, double power);

/// Sets every group's rate to its own base rate times poly_factor.
void apply_poly_schedule(torch::optim::SGD& optimizer, const std::vector<ParamGroupInfo>& groups,
                         int64_t step, int64_t steps, double power);

/// The current rate of group `index`.
double group_lr(torch::optim::SGD& optimizer, size_t index);

}  // namespace nddr
