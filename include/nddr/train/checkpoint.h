#pragma once
// A checkpoint holds everything a run needs to continue exactly where it
// stopped: weights and BN statistics, the optimizer's state (momentum or
// Adam moments), the weighting method's state, the
// step, the seed and the config. Data order, augmentation and dropout draws
// are pure functions of (seed, step) (see data/loader.h and Trainer), so the
// seed and step restore every random state. Written atomically, with a CRC-32
// of its contents that loading verifies (a damaged byte is an Error naming
// the file); checkpoints older than the CRC load unchecked.

#include <torch/torch.h>

#include <optional>
#include <string>

#include "nddr/train/loss_scaler.h"

namespace nddr {

struct CheckpointState {
  int64_t step = 0;  ///< steps completed
  int64_t seed = 0;
  std::string config_yaml;
  int64_t skipped_steps = 0;  ///< steps skipped as non-finite (train.nan_policy: skip)
  /// The fp16 loss scaler's state; absent for runs without loss scaling.
  std::optional<LossScalerState> loss_scaler;
};

/// `weighting`, when given, is the loss-weighting method's state
/// (weighting/weighting.h), saved beside the network.
void save_checkpoint(const std::string& path, torch::nn::Module& net,
                     torch::optim::Optimizer& optimizer, const CheckpointState& state,
                     torch::nn::Module* weighting = nullptr);

/// Restores `net`, `optimizer` and `weighting` (built from the same config)
/// in place; an unreadable, corrupt or mismatched file (a tensor of another
/// shape) is an Error naming it; after an Error, `net` is not usable. Tensors
/// are mapped to the device `net` is on, so a checkpoint written on one
/// device resumes on any other.
CheckpointState load_checkpoint(const std::string& path, torch::nn::Module& net,
                                torch::optim::Optimizer& optimizer,
                                torch::nn::Module* weighting = nullptr);

/// Reads only the state (step, seed, config) of a checkpoint.
CheckpointState read_checkpoint_state(const std::string& path);

}  // namespace nddr
