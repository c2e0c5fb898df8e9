#pragma once
// A checkpoint holds everything a run needs to continue exactly where it
// stopped: weights and BN statistics, the optimizer's momentum buffers, the
// step, the seed and the config. Data order, augmentation and dropout draws
// are pure functions of (seed, step) (see data/loader.h and Trainer), so the
// seed and step restore every random state. Written atomically.

#include <torch/torch.h>

#include <optional>
#include <string>

#include "nddr/train/loss_scaler.h"

namespace nddr {

struct CheckpointState {
  int64_t step = 0;  ///< steps completed
  int64_t seed = 0;
  std::string config_yaml;
  /// The fp16 loss scaler's state; absent for runs without loss scaling.
  std::optional<LossScalerState> loss_scaler;
};

void save_checkpoint(const std::string& path, torch::nn::Module& net,
                     torch::optim::Optimizer& optimizer, const CheckpointState& state);

/// Restores `net` and `optimizer` (built from the same config) in place;
/// an unreadable or mismatched file is an Error naming it. Tensors are mapped
/// to the device `net` is on, so a checkpoint written on one device resumes
/// on any other.
CheckpointState load_checkpoint(const std::string& path, torch::nn::Module& net,
                                torch::optim::Optimizer& optimizer);

/// Reads only the state (step, seed, config) of a checkpoint.
CheckpointState read_checkpoint_state(const std::string& path);

}  // namespace nddr
