#include "nddr/train/schedule.h"

#include <algorithm>
#include <cmath>

#include "nddr/util/error.h"
#include "nddr/util/strings.h"

namespace nddr {

std::vector<std::string> schedule_names() { return {"poly", "cosine", "step", "constant"}; }

void validate(const ScheduleOptions& options, int64_t steps) {
  const auto names = schedule_names();
  if (std::find(names.begin(), names.end(), options.name()) == names.end()) {
    throw Error("unknown train.schedule '" + options.name() + "'" +
                did_you_mean(options.name(), names) + "; valid: " + join(names, ", "));
  }
  if (options.warmup_steps() < 0 || options.warmup_steps() >= steps) {
    throw Error("train.warmup_steps must be in [0, train.steps) = [0, " + std::to_string(steps) +
                "), got " + std::to_string(options.warmup_steps()));
  }
  if (options.name() == "step") {
    if (options.step_size() < 1) {
      throw Error("train.schedule 'step' needs train.step_size >= 1, got " +
                  std::to_string(options.step_size()));
    }
    if (!(options.gamma() > 0)) {
      throw Error("train.gamma must be > 0, got " + std::to_string(options.gamma()));
    }
  }
}

double schedule_factor(const ScheduleOptions& options, int64_t step, int64_t steps) {
  if (steps <= 0 || step >= steps) return 0.0;
  const int64_t warmup = options.warmup_steps();
  // Every schedule starts at 1, so warm-up ramps up to it.
  if (step < warmup) return static_cast<double>(step + 1) / static_cast<double>(warmup);
  const int64_t since = step - warmup;
  const double t = static_cast<double>(since) / static_cast<double>(steps - warmup);
  const std::string& name = options.name();
  if (name == "poly") return std::pow(1.0 - t, options.power());
  if (name == "cosine") return 0.5 * (1.0 + std::cos(M_PI * t));
  if (name == "step") {
    return std::pow(options.gamma(), static_cast<double>(since / options.step_size()));
  }
  if (name == "constant") return 1.0;
  throw Error("unknown train.schedule '" + name + "'");
}

void apply_schedule(torch::optim::Optimizer& optimizer, const std::vector<ParamGroupInfo>& groups,
                    const ScheduleOptions& options, int64_t step, int64_t steps) {
  const double factor = schedule_factor(options, step, steps);
  for (size_t i = 0; i < groups.size(); ++i) set_group_lr(optimizer, i, groups[i].base_lr * factor);
}

}  // namespace nddr
