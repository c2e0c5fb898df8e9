#pragma once
// An experiment's results, aggregated over seeds: one row per method and per
// ablation value, each metric as mean ± std, delta_m per seed against the
// reference method's run of the same seed (over the experiment's listed
// metrics, or all metrics when none are listed), sizes and train time. Written as
// Markdown and CSV tables and PNG plots (training losses, ablation curves).

#include <map>
#include <string>
#include <vector>

#include "nddr/experiment/experiment.h"
#include "nddr/report/table.h"
#include "nddr/tasks/results.h"

namespace nddr {

/// Mean and sample standard deviation (n - 1; 0 for one value); NaN for none.
struct MeanStd {
  double mean = 0;
  double std = 0;
  size_t count = 0;
};
MeanStd mean_std(const std::vector<double>& values);

/// "41.23 ± 0.52" with `decimals` digits; "-" when count is 0; no "±" for one value.
std::string format_mean_std(const MeanStd& value, int decimals);

/// One table row: the finished seeds of a method or ablation value.
struct RowSummary {
  std::string row;
  std::string ablation;                    ///< "" for a method
  c10::optional<double> x;                 ///< ablation value's plot position
  std::vector<int64_t> seeds;              ///< seeds with results
  std::map<std::string, MeanStd> metrics;  ///< "task.metric"
  std::map<std::string, bool> higher_is_better;
  MeanStd delta_m;  ///< percent, per seed against the reference run of that seed
  std::vector<double> delta_m_per_seed;  ///< the values behind delta_m, in `seeds` order
  MeanStd train_seconds;
  int64_t parameters = 0;
  int64_t macs = 0;
  std::vector<std::string> run_dirs;  ///< of the finished seeds
  /// Finished seeds whose results are marked invalid (non-finite outputs):
  /// left out of every mean, and named in the table.
  std::vector<int64_t> invalid_seeds;
};

/// Reads every finished run's results.json (unfinished runs are left out)
/// and aggregates them by row, in grid order.
std::vector<RowSummary> summarize(const ExperimentSpec& spec);

/// The table of rows whose `ablation` equals `ablation` ("" = the methods);
/// ablation tables start with the reference and ablated method rows.
/// Columns: row, the spec's metrics (all when empty) with an arrow for the
/// better direction, delta_m %, delta_m of each seed (only when some row has
/// several seeds: the spread's makeup), seeds, parameters, MMACs, train s.
Table summary_table(const ExperimentSpec& spec, const std::vector<RowSummary>& rows,
                    const std::string& ablation);

/// Mean over runs of the training loss logged at each step (log.jsonl "loss").
std::vector<std::pair<double, double>> mean_loss_curve(const std::vector<std::string>& run_dirs);

/// Writes <report_dir>/<slug(name)>.md (tables and plot links) and .csv (all
/// rows, with an "ablation" column), loss.png (training curves per method)
/// and ablation-<name>.png per ablation (delta_m and the first metric of each
/// task against the value). Returns the Markdown text.
std::string write_report(const ExperimentSpec& spec);

}  // namespace nddr
