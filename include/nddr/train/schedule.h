#pragma once
// Learning-rate schedules. Each gives a factor of the step; the trainer sets
// every group's rate to that group's own base rate times the factor, so the
// per-role multipliers survive every schedule.
//
// With W warm-up steps the factor rises linearly, (step + 1) / W for step < W
// (reaching the schedule's start at step W - 1), and the schedule itself runs
// over the remaining steps: t = (step - W) / (steps - W) in [0, 1).
//   poly:     (1 - t)^power                     (the paper's, today's default)
//   cosine:   (1 + cos(pi t)) / 2
//   step:     gamma^floor((step - W) / step_size)
//   constant: 1

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "nddr/train/optimizer.h"

namespace nddr {

struct ScheduleOptions {
  /// "poly", "cosine", "step" or "constant".
  TORCH_ARG(std::string, name) = "poly";
  /// poly: exponent.
  TORCH_ARG(double, power) = 0.9;
  /// step: steps between decays and the factor of each decay.
  TORCH_ARG(int64_t, step_size) = 0;
  TORCH_ARG(double, gamma) = 0.1;
  /// Linear warm-up steps; 0 = none.
  TORCH_ARG(int64_t, warmup_steps) = 0;
};

std::vector<std::string> schedule_names();

/// An Error naming the key at fault when the options cannot describe a
/// schedule of `steps` steps.
void validate(const ScheduleOptions& options, int64_t steps);

/// The factor at `step` (0-based) of a run of `steps` steps; 0 at and after the end.
double schedule_factor(const ScheduleOptions& options, int64_t step, int64_t steps);

/// Sets every group's rate to its own base rate times schedule_factor.
void apply_schedule(torch::optim::Optimizer& optimizer, const std::vector<ParamGroupInfo>& groups,
                    const ScheduleOptions& options, int64_t step, int64_t steps);

}  // namespace nddr
