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
#include "nddr/train/execution.h"
#include "nddr/train/loss_scaler.h"
#include "nddr/train/optimizer.h"
#include "nddr/train/schedule.h"
#include "nddr/util/collective.h"
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
  /// A step with a non-finite loss or gradient: false stops training with a
  /// DivergenceError; true skips the step's update (train.nan_policy: skip),
  /// at most max_skipped_steps times in a run.
  TORCH_ARG(bool, skip_non_finite) = false;
  TORCH_ARG(int64_t, max_skipped_steps) = 10;
  /// Device, precision and memory format of the steps (and evaluations).
  TORCH_ARG(ExecutionOptions, execution) = {};
  /// Dynamic loss scaling; always on for fp16, optional otherwise (tests).
  TORCH_ARG(bool, loss_scaling) = false;
  TORCH_ARG(LossScalerOptions, loss_scaler) = {};
  /// Distributed data-parallel training over these ranks (null: one
  /// process). Each rank takes its slice of the global batch, gradients are
  /// averaged, rank 0 writes the log and checkpoints (docs/distributed.md).
  TORCH_ARG(std::shared_ptr<Collective>, collective) = nullptr;
};

/// What one logged step reports.
struct StepReport {
  int64_t step = 0;                       ///< steps completed
  int64_t steps = 0;                      ///< total
  std::map<std::string, double> losses;   ///< unweighted per task
  double total_loss = 0.0;                ///< the weighting's combined loss
  std::map<std::string, double> weights;  ///< the weighting's per-task weights
  double lr = 0.0;                        ///< base group's current rate
  double images_per_second = 0.0;         ///< since the previous report, all ranks
  double elapsed_seconds = 0.0;
  /// Why the step's update was not applied (a non-finite loss or gradient),
  /// or "" when it was.
  std::string non_finite;
  /// Share of the time since the previous report spent waiting for batches.
  double data_wait_fraction = 0.0;
  /// With loss scaling: the scale after this step, and whether the step was
  /// skipped for non-finite gradients.
  double loss_scale = 0.0;
  bool skipped = false;
};

/// Receives progress; the library itself never prints.
class TrainObserver {
 public:
  virtual ~TrainObserver() = default;
  virtual void on_step(const StepReport& /*report*/) {}
  virtual void on_evaluation(int64_t /*step*/, const Evaluation& /*evaluation*/) {}
  /// Something the user should know that is not an error (a config change
  /// accepted on resume, a stale temporary file removed).
  virtual void on_note(const std::string& /*note*/) {}
};

class Trainer {
 public:
  Trainer(MultiTaskNet net, std::shared_ptr<const Dataset> train_set,
          TrainLoaderOptions loader_options, TrainOptions options);

  /// Continues from a checkpoint written by a run of the same config.
  void resume_from(const std::string& checkpoint_path);

  /// Trains from the current step to options.steps (or stop_after). When
  /// `test_set` is given, evaluates every eval_every steps. Stops early, with
  /// a checkpoint, when stop_requested() (SIGINT/SIGTERM); throws a
  /// DivergenceError, keeping the last checkpoint, when training diverges.
  void run(TrainObserver& observer, std::shared_ptr<const Dataset> test_set = nullptr,
           const EvalLoaderOptions& eval_options = {});

  int64_t step() const { return step_; }
  /// The signal that stopped the last run() early, or 0.
  int stopped_by_signal() const { return stopped_by_signal_; }
  const std::vector<ParamGroupInfo>& groups() const { return groups_; }
  torch::optim::Optimizer& optimizer() { return *optimizer_; }
  Weighting& weighting() { return *weighting_; }
  /// The loss scaler when loss scaling is on, else nullptr.
  const LossScaler* loss_scaler() const { return scaler_ ? &*scaler_ : nullptr; }

  /// One optimisation step on `batch` (on any device: it is moved to the
  /// trainer's) at step `step` (public for tests and bench). Distributed,
  /// `batch` is this rank's slice of the global batch.
  StepReport train_step(const Batch& batch, int64_t step);

  /// Timing of the last step's gradient average (zero for one process).
  const GradientSyncStats& last_gradient_sync() const { return last_sync_; }

 private:
  bool is_rank0() const { return !options_.collective() || options_.collective()->rank() == 0; }

  void save(const std::string& path);
  /// Distributed: makes the BatchNorm running statistics agree (once per step).
  void synchronise_stats();

  MultiTaskNet net_;
  std::shared_ptr<const Dataset> train_set_;
  TrainLoaderOptions loader_options_;
  TrainOptions options_;
  std::vector<ParamGroupInfo> groups_;
  std::shared_ptr<Weighting> weighting_;
  std::vector<torch::Tensor> parameters_;  // the network's trainable ones, then the weighting's
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::optional<LossScaler> scaler_;
  std::unique_ptr<GradientSync> gradient_sync_;
  GradientSyncStats last_sync_;
  int64_t step_ = 0;
  int64_t stats_synchronised_at_ = -1;
  int64_t skipped_steps_ = 0;
  int64_t checkpoint_step_ = -1;  // step of the last checkpoint written or loaded
  int stopped_by_signal_ = 0;
};

/// Seeds LibTorch's global generator for step `step` of a run seeded `seed`
/// (dropout draws), so resumed runs repeat them.
void seed_step(int64_t seed, int64_t step);

}  // namespace nddr
