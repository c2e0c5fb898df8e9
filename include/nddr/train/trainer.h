#pragma once
// The training loop: the optimizer with per-role groups and its schedule, weighted
// per-task losses on targets resized to the logits, JSONL log, periodic
// evaluation and atomic checkpoints. Every random draw of step s (data order,
// augmentation, dropout) is a function of (seed, s), so a run resumed from a
// checkpoint ends with the same weights as an uninterrupted one.

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>

#include "nddr/data/loader.h"
#include "nddr/models/multitask_net.h"
#include "nddr/train/evaluator.h"
#include "nddr/train/optimizer.h"
#include "nddr/train/schedule.h"
#include "nddr/weighting/weighting.h"

namespace nddr {

struct TrainOptions {
  TORCH_ARG(int64_t, steps) = 1000;
  TORCH_ARG(OptimizerOptions, optimizer) = {};
  TORCH_ARG(ScheduleOptions, schedule) = {};
  /// How the per-task losses (each scaled by its loss_weight) become one
  /// update (docs/weighting.md); "fixed" sums them.
  TORCH_ARG(WeightingSpec, weighting) = {};
  TORCH_ARG(int64_t, seed) = 0;
  /// Steps between JSONL log lines and observer step reports.
  TORCH_ARG(int64_t, log_every) = 10;
  /// Steps between evaluations on the test set; 0 = none during training.
  TORCH_ARG(int64_t, eval_every) = 0;
  /// Steps between checkpoints; 0 = only at the end.
  TORCH_ARG(int64_t, checkpoint_every) = 500;
  /// Where checkpoint.pt and log.jsonl go; "" = write nothing.
  TORCH_ARG(std::string, run_dir) = "";
  /// Stored in checkpoints so a resumed run can be checked against it.
  TORCH_ARG(std::string, config_yaml) = "";
  /// Stop (with a checkpoint) after this step even though `steps` is larger;
  /// 0 = run to the end. Used to test and demonstrate resuming.
  TORCH_ARG(int64_t, stop_after) = 0;
};

/// What one logged step reports.
struct StepReport {
  int64_t step = 0;                       ///< steps completed
  int64_t steps = 0;                      ///< total
  std::map<std::string, double> losses;   ///< unweighted per task
  double total_loss = 0.0;                ///< the weighting's combined loss
  std::map<std::string, double> weights;  ///< the weighting's per-task weights
  double lr = 0.0;                        ///< base group's current rate
  double images_per_second = 0.0;         ///< since the previous report
  double elapsed_seconds = 0.0;
};

/// Receives progress; the library itself never prints.
class TrainObserver {
 public:
  virtual ~TrainObserver() = default;
  virtual void on_step(const StepReport& /*report*/) {}
  virtual void on_evaluation(int64_t /*step*/, const Evaluation& /*evaluation*/) {}
};

class Trainer {
 public:
  Trainer(MultiTaskNet net, std::shared_ptr<const Dataset> train_set,
          TrainLoaderOptions loader_options, TrainOptions options);

  /// Continues from a checkpoint written by a run of the same config.
  void resume_from(const std::string& checkpoint_path);

  /// Trains from the current step to options.steps (or stop_after). When
  /// `test_set` is given, evaluates every eval_every steps.
  void run(TrainObserver& observer, std::shared_ptr<const Dataset> test_set = nullptr,
           const EvalLoaderOptions& eval_options = {});

  int64_t step() const { return step_; }
  const std::vector<ParamGroupInfo>& groups() const { return groups_; }
  torch::optim::Optimizer& optimizer() { return *optimizer_; }
  Weighting& weighting() { return *weighting_; }

  /// One optimisation step on `batch` at step `step` (public for tests).
  StepReport train_step(const Batch& batch, int64_t step);

 private:
  void save(const std::string& path);

  MultiTaskNet net_;
  std::shared_ptr<const Dataset> train_set_;
  TrainLoaderOptions loader_options_;
  TrainOptions options_;
  std::vector<ParamGroupInfo> groups_;
  std::shared_ptr<Weighting> weighting_;
  std::vector<torch::Tensor> parameters_;  // the network's trainable ones, then the weighting's
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  int64_t step_ = 0;
};

/// Seeds LibTorch's global generator for step `step` of a run seeded `seed`
/// (dropout draws), so resumed runs repeat them.
void seed_step(int64_t seed, int64_t step);

}  // namespace nddr
