#pragma once
// The optimizer (SGD, Adam or AdamW) with one parameter group per ParamRole,
// each with its own base learning rate and weight decay. The schedule
// (train/schedule.h) scales every group's own base rate: a schedule that
// writes one rate into every group silently drops the x100 NDDR multiplier.

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "nddr/models/multitask_net.h"

namespace nddr {

struct OptimizerOptions {
  /// "sgd", "adam" (L2 decay added to the gradient) or "adamw" (decoupled decay).
  TORCH_ARG(std::string, name) = "sgd";
  TORCH_ARG(double, lr) = 1e-3;
  /// SGD only.
  TORCH_ARG(double, momentum) = 0.9;
  TORCH_ARG(double, weight_decay) = 5e-4;
  /// Adam/AdamW only.
  TORCH_ARG(double, beta1) = 0.9;
  TORCH_ARG(double, beta2) = 0.999;
  TORCH_ARG(double, eps) = 1e-8;
  /// NDDR / cross-stitch / sluice / shortcut parameters (x100 in the paper).
  TORCH_ARG(double, lr_mult_fusion) = 100.0;
  /// Heads' fc8 weights (x10) and biases (x20).
  TORCH_ARG(double, lr_mult_last_weight) = 10.0;
  TORCH_ARG(double, lr_mult_last_bias) = 20.0;
  /// Scales the weight decay of fusion weights (an ablation).
  TORCH_ARG(double, fusion_weight_decay_mult) = 1.0;
};

/// The optimizer names make_optimizer accepts.
std::vector<std::string> optimizer_names();

/// One parameter group: which role, and its unscheduled rate and decay.
struct ParamGroupInfo {
  ParamRole role;
  double base_lr;
  double weight_decay;
  int64_t num_tensors;
  /// "" for the network's groups; "weighting" for a loss-weighting method's
  /// own parameters (uncertainty weighting's log-variances).
  std::string owner;
};

/// The optimizer over `net` with one group per non-empty role, in ParamRole
/// order, then (when `extra` is not empty) one group of undecayed parameters
/// at the base rate owned by `extra_owner`; `groups` describes them (same
/// order as param_groups()). Bad options are Errors naming them.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(
    MultiTaskNetImpl& net, const OptimizerOptions& options, std::vector<ParamGroupInfo>& groups,
    const std::vector<torch::Tensor>& extra = {}, const std::string& extra_owner = "weighting");

/// The current rate of group `index`.
double group_lr(torch::optim::Optimizer& optimizer, size_t index);

/// Sets group `index`'s rate.
void set_group_lr(torch::optim::Optimizer& optimizer, size_t index, double lr);

}  // namespace nddr
