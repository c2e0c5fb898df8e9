#pragma once
// Runs an experiment's grid: skips runs whose results.json exists, resumes
// runs with a checkpoint, trains the rest. The library stays silent; the
// observer hears about every run (the CLI prints progress from it).

#include <cstdint>
#include <string>
#include <vector>

#include "nddr/experiment/experiment.h"
#include "nddr/tasks/results.h"
#include "nddr/train/trainer.h"

namespace nddr {

/// Where a run stands before the runner touches it.
enum class RunState { kFinished, kResumable, kFresh };

/// kFinished when <dir>/results.json exists, kResumable when only
/// checkpoint.pt does, else kFresh.
RunState run_state(const std::string& run_dir);

class ExperimentObserver {
 public:
  virtual ~ExperimentObserver() = default;
  /// Before run `index` (0-based) of `total`; `state` says whether it is
  /// skipped (kFinished), resumed or started.
  virtual void on_run_start(size_t /*index*/, size_t /*total*/, const RunSpec& /*run*/,
                            RunState /*state*/) {}
  /// Receives the training progress of the run being trained.
  virtual TrainObserver& train_observer() = 0;
  /// After a run was trained (not after a skipped one).
  virtual void on_run_end(const RunSpec& /*run*/, const RunResults& /*results*/,
                          double /*seconds*/) {}
};

/// Part `index` (0-based) of `count`: run i of the grid belongs to part
/// i % count. Several processes, one per part, share a machine's cores better
/// than one process with more threads when the networks are small.
struct Shard {
  size_t index = 0;
  size_t count = 1;
};

/// Parses "K/N" (1 <= K <= N, 1-based as users count) into a Shard; anything
/// else is an Error naming the text.
Shard parse_shard(const std::string& text);

/// Trains the runs of `shard` in grid order; the observer still sees every
/// run's index in the whole grid.
void run_experiment(const ExperimentSpec& spec, ExperimentObserver& observer, Shard shard = {});

/// The run directory of `run` (<output_dir>/<name>).
std::string run_dir(const ExperimentSpec& spec, const RunSpec& run);

}  // namespace nddr
