#pragma once
// A run from a config: builds the datasets, the network and the trainer,
// trains (or resumes), saves weights, evaluates and writes results. The CLI's
// train/eval commands and the experiment runner call these.

#include <string>

#include "nddr/config/config.h"
#include "nddr/data/dataset.h"
#include "nddr/data/loader.h"
#include "nddr/models/multitask_net.h"
#include "nddr/tasks/results.h"
#include "nddr/train/trainer.h"

namespace nddr {

/// Files of a run directory <output_dir>/<name>.
struct RunPaths {
  std::string dir;
  std::string config() const { return dir + "/config.yaml"; }
  std::string checkpoint() const { return dir + "/checkpoint.pt"; }
  std::string weights() const { return dir + "/weights.safetensors"; }
  std::string results() const { return dir + "/results.json"; }
  std::string log() const { return dir + "/log.jsonl"; }
};

RunPaths run_paths(const Config& config);

/// The "data.train" or "data.test" dataset of a config.
std::shared_ptr<Dataset> dataset_from_config(const Config& config, const std::string& split);

TrainLoaderOptions train_loader_options(const Config& config);
EvalLoaderOptions eval_loader_options(const Config& config);
TrainOptions train_options(const Config& config);
/// The device, precision, channels_last and cudnn.* keys; an unknown or
/// unavailable device, or a precision the device cannot run, is an Error
/// naming the key.
ExecutionOptions execution_options(const Config& config);

/// The network of a config, its weights initialised from `seed`, then from
/// train.init_backbone and train.init_from when given.
MultiTaskNet network_from_config(const Config& config);

struct RunOptions {
  /// Continue from the run directory's checkpoint when there is one.
  bool resume = false;
  /// Stop (with a checkpoint) after this many steps; 0 = run to the end.
  int64_t stop_after = 0;
  /// Replace the files of a run already in the directory. Without it (or
  /// `resume`), training into a directory that holds a run is an Error.
  bool overwrite = false;
  /// Train data-parallel over these ranks (nddr/dist/run_group.h); null =
  /// one process. Rank 0 writes every file; all ranks return the results.
  std::shared_ptr<Collective> collective = nullptr;
};

/// Trains the config's network and evaluates it on data.test. Writes
/// config.yaml, log.jsonl, checkpoint.pt, weights.safetensors and
/// results.json (info: parameters, macs, train_seconds, steps) to the run
/// directory and returns the results. A run stopped early returns results
/// with empty task metrics (info "stopped_at_step", and "stopped_by_signal"
/// when SIGINT/SIGTERM stopped it). The directory is locked while training;
/// nothing in it changes before the config, network, datasets and (on
/// resume) the checkpoint's config have been checked.
RunResults train_from_config(const Config& config, TrainObserver& observer,
                             const RunOptions& options = {});

/// Evaluates `weights` (safetensors) with the config's network on data.test.
RunResults evaluate_from_config(const Config& config, const std::string& weights);

}  // namespace nddr
