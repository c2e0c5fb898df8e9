#pragma once
// A run's evaluation results as a JSON file, written by eval/train and read
// back to compare methods (delta_m) and build reports:
//
//   {
//     "method": "nddr",
//     "config": "<the run's YAML config>",
//     "tasks": {"seg": {"miou": 0.41, "pixel_acc": 0.7}, "normals": {...}},
//     "higher_is_better": {"seg": {"miou": true, "pixel_acc": true}, ...},
//     "info": {"checkpoint": "runs/a/final.pt", "dataset": "nyuv2 test"}
//   }
//
// A NaN metric (nothing valid to measure) is written as null and read back as NaN.

#include <map>
#include <string>
#include <vector>

#include "nddr/tasks/metrics.h"

namespace nddr {

struct RunResults {
  std::string method;                         ///< e.g. "nddr", "single", "cross_stitch"
  std::string config;                         ///< the config the run used, as text; may be empty
  std::map<std::string, MetricValues> tasks;  ///< metrics by task name
  /// Per task and metric, as MetricAccumulator::higher_is_better gives them.
  std::map<std::string, std::map<std::string, bool>> higher_is_better;
  std::map<std::string, std::string> info;  ///< free-form provenance (checkpoint, data, steps)
};

/// The info key that marks a run's metrics as invalid; its value says why
/// (e.g. "non-finite outputs on 3 of 4 test images"). compare and the
/// experiment summary show such runs as invalid instead of ranking them.
inline constexpr char kInvalidInfoKey[] = "invalid";

/// True when `results` carry kInvalidInfoKey.
inline bool is_invalid(const RunResults& results) {
  return results.info.count(kInvalidInfoKey) > 0;
}

/// Writes `results` as JSON to a temporary file beside `path`, then renames it
/// over `path`, so a crash never leaves a half-written file. Errors name the file.
void save_results(const std::string& path, const RunResults& results);

/// Reads a file written by save_results. A missing file, bad JSON, a missing
/// or mistyped key, or a metric without a higher_is_better flag is an Error
/// naming the file and the key ("tasks.seg.miou").
RunResults load_results(const std::string& path);

/// The run with only the metrics named "task.metric" in `keys` (all of them
/// when `keys` is empty): delta_m over a chosen set of metrics. Keys naming
/// no metric of the run are ignored; missing_metrics() lists them.
RunResults select_metrics(const RunResults& results, const std::vector<std::string>& keys);

/// The keys of `keys` that name no metric of `results`.
std::vector<std::string> missing_metrics(const RunResults& results,
                                         const std::vector<std::string>& keys);

/// delta_m of a multi-task run against single-task runs (one or several
/// files, each holding one or more tasks), with the multi-task run's
/// higher_is_better flags. A task found in two single-task runs is an Error.
double delta_m(const RunResults& multi_task, const std::vector<RunResults>& single_task);

}  // namespace nddr
