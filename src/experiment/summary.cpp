#include "nddr/experiment/summary.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <set>
#include <sstream>

#include "nddr/experiment/runner.h"
#include "nddr/io/atomic_file.h"
#include "nddr/report/plot.h"
#include "nddr/train/run.h"
#include "nddr/util/error.h"
#include "nddr/util/strings.h"

namespace nddr {

namespace {

std::string fixed(double value, int decimals) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(decimals) << value;
  std::string text = out.str();
  // A tiny negative value rounds to "-0.00": print it as zero.
  if (text[0] == '-' && text.find_first_not_of("-0.") == std::string::npos) text.erase(0, 1);
  return text;
}

int64_t info_int(const RunResults& results, const std::string& key) {
  auto it = results.info.find(key);
  return it == results.info.end() ? 0 : std::stoll(it->second);
}

double info_double(const RunResults& results, const std::string& key) {
  auto it = results.info.find(key);
  return it == results.info.end() ? std::nan("") : std::stod(it->second);
}

// Fractions (mIoU, accuracy in [0,1]) need more digits than degrees or percents.
int decimals_for(const MeanStd& value) { return std::abs(value.mean) < 10 ? 3 : 2; }

// Every table of an experiment gets the same columns, so they stack into one CSV.
std::vector<std::string> metric_columns(const ExperimentSpec& spec,
                                        const std::vector<RowSummary>& rows) {
  if (!spec.metrics.empty()) return spec.metrics;
  std::set<std::string> all;
  for (const auto& row : rows) {
    for (const auto& metric : row.metrics) all.insert(metric.first);
  }
  return {all.begin(), all.end()};
}

}  // namespace

MeanStd mean_std(const std::vector<double>& values) {
  MeanStd result;
  result.count = values.size();
  if (values.empty()) return {std::nan(""), std::nan(""), 0};
  for (double v : values) result.mean += v;
  result.mean /= static_cast<double>(values.size());
  if (values.size() > 1) {
    double squares = 0;
    for (double v : values) squares += (v - result.mean) * (v - result.mean);
    result.std = std::sqrt(squares / static_cast<double>(values.size() - 1));
  }
  return result;
}

std::string format_mean_std(const MeanStd& value, int decimals) {
  if (value.count == 0) return "-";
  if (value.count == 1) return fixed(value.mean, decimals);
  return fixed(value.mean, decimals) + " ± " + fixed(value.std, decimals);
}

std::vector<RowSummary> summarize(const ExperimentSpec& spec) {
  const auto runs = expand_runs(spec);
  std::map<int64_t, RunResults> reference;  // by seed
  for (const auto& run : runs) {
    if (run.ablation.empty() && run.row == spec.reference &&
        run_state(run_dir(spec, run)) == RunState::kFinished) {
      const RunResults results = load_results(RunPaths{run_dir(spec, run)}.results());
      if (!is_invalid(results)) reference[run.seed] = results;
    }
  }
  std::vector<RowSummary> rows;
  std::map<std::string, std::map<std::string, std::vector<double>>> metric_values;
  std::map<std::string, std::vector<double>> deltas, seconds;
  for (const auto& run : runs) {
    auto it = std::find_if(rows.begin(), rows.end(),
                           [&](const RowSummary& r) { return r.row == run.row; });
    if (it == rows.end()) {
      RowSummary row;
      row.row = run.row;
      row.ablation = run.ablation;
      for (const auto& ablation : spec.ablations) {
        for (const auto& value : ablation.values) {
          if (ablation.name + ": " + value.label == run.row) row.x = value.x;
        }
      }
      rows.push_back(row);
      it = rows.end() - 1;
    }
    const std::string dir = run_dir(spec, run);
    if (run_state(dir) != RunState::kFinished) continue;
    const RunResults results = load_results(RunPaths{dir}.results());
    if (is_invalid(results)) {
      it->invalid_seeds.push_back(run.seed);
      continue;
    }
    it->seeds.push_back(run.seed);
    it->run_dirs.push_back(dir);
    for (const auto& [task, metrics] : results.tasks) {
      for (const auto& [metric, value] : metrics) {
        metric_values[run.row][task + "." + metric].push_back(value);
        it->higher_is_better[task + "." + metric] = results.higher_is_better.at(task).at(metric);
      }
    }
    if (reference.count(run.seed)) {
      // Over the listed metrics only (all when none are), so delta_m averages
      // what the table shows.
      deltas[run.row].push_back(delta_m(select_metrics(results, spec.metrics),
                                        {select_metrics(reference.at(run.seed), spec.metrics)}));
    }
    seconds[run.row].push_back(info_double(results, "train_seconds"));
    it->parameters = info_int(results, "parameters");
    it->macs = info_int(results, "macs");
  }
  for (auto& row : rows) {
    for (const auto& [metric, values] : metric_values[row.row])
      row.metrics[metric] = mean_std(values);
    row.delta_m = mean_std(deltas[row.row]);
    row.delta_m_per_seed = deltas[row.row];
    row.train_seconds = mean_std(seconds[row.row]);
  }
  return rows;
}

Table summary_table(const ExperimentSpec& spec, const std::vector<RowSummary>& rows,
                    const std::string& ablation) {
  std::vector<const RowSummary*> selected;
  if (!ablation.empty()) {
    const auto it = std::find_if(spec.ablations.begin(), spec.ablations.end(),
                                 [&](const AblationSpec& a) { return a.name == ablation; });
    if (it == spec.ablations.end()) throw Error("no ablation named '" + ablation + "'");
    for (const auto& row : rows) {
      if (row.ablation.empty() && (row.row == spec.reference || row.row == it->method)) {
        selected.push_back(&row);
      }
    }
  }
  for (const auto& row : rows) {
    if (row.ablation == ablation) selected.push_back(&row);
  }
  const auto metrics = metric_columns(spec, rows);

  Table table;
  table.header.push_back(ablation.empty() ? "method" : ablation);
  table.align.push_back(Align::kLeft);
  for (const auto& metric : metrics) {
    bool higher = true;
    for (const auto* row : selected) {
      if (row->higher_is_better.count(metric)) higher = row->higher_is_better.at(metric);
    }
    table.header.push_back(metric + (higher ? " ↑" : " ↓"));
  }
  const bool per_seed = std::any_of(selected.begin(), selected.end(), [](const RowSummary* row) {
    return row->delta_m_per_seed.size() > 1;
  });
  table.header.push_back("Δm % ↑");
  if (per_seed) table.header.push_back("Δm per seed");
  for (const std::string column : {"seeds", "params", "MMACs", "train s"}) {
    table.header.push_back(column);
  }
  table.align.resize(table.header.size(), Align::kRight);
  for (const auto* row : selected) {
    std::vector<std::string> invalid;
    for (int64_t seed : row->invalid_seeds) invalid.push_back(std::to_string(seed));
    std::vector<std::string> cells{invalid.empty()
                                       ? row->row
                                       : row->row + " (INVALID, non-finite outputs: seed " +
                                             join(invalid, ", ") + ")"};
    for (const auto& metric : metrics) {
      const auto it = row->metrics.find(metric);
      cells.push_back(
          it == row->metrics.end() ? "-" : format_mean_std(it->second, decimals_for(it->second)));
    }
    cells.push_back(format_mean_std(row->delta_m, 2));
    if (per_seed) {
      std::vector<std::string> values;
      for (double value : row->delta_m_per_seed) {
        values.push_back((value > 0 ? "+" : "") + fixed(value, 1));
      }
      cells.push_back(values.empty() ? "-" : join(values, " / "));
    }
    cells.push_back(std::to_string(row->seeds.size()));
    cells.push_back(row->seeds.empty() ? "-" : std::to_string(row->parameters));
    cells.push_back(row->seeds.empty() ? "-" : fixed(static_cast<double>(row->macs) / 1e6, 1));
    cells.push_back(format_mean_std(row->train_seconds, 0));
    table.rows.push_back(std::move(cells));
  }
  return table;
}

std::vector<std::pair<double, double>> mean_loss_curve(const std::vector<std::string>& run_dirs) {
  std::map<double, std::vector<double>> by_step;
  for (const auto& dir : run_dirs) {
    const std::string path = RunPaths{dir}.log();
    std::ifstream in(path);
    if (!in) throw Error("cannot read training log '" + path + "'");
    std::string line;
    while (std::getline(in, line)) {
      const auto entry = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (entry.is_discarded() || !entry.contains("loss") || !entry.contains("step")) continue;
      // A diverged run logs its NaN loss as null: keep it as a gap.
      const auto& loss = entry["loss"];
      by_step[entry["step"].get<double>()].push_back(loss.is_number() ? loss.get<double>()
                                                                      : std::nan(""));
    }
  }
  std::vector<std::pair<double, double>> curve;
  for (const auto& [step, losses] : by_step) curve.emplace_back(step, mean_std(losses).mean);
  return curve;
}

namespace {

// The mean training-loss curve of every method, as a plot next to the report.
void write_loss_plot(const ExperimentSpec& spec, const std::vector<RowSummary>& rows,
                     const std::string& stem, std::ostringstream& md) {
  LinePlot losses;
  losses.title = spec.name + ": training loss (mean over seeds)";
  losses.x_label = "step";
  losses.y_label = "weighted loss";
  for (const auto& row : rows) {
    if (!row.ablation.empty() || row.run_dirs.empty()) continue;
    Series series{row.row, {}, {}};
    for (const auto& [step, loss] : mean_loss_curve(row.run_dirs)) {
      series.x.push_back(step);
      series.y.push_back(loss);
    }
    if (!series.x.empty()) losses.series.push_back(series);
  }
  if (!losses.series.empty()) {
    save_line_plot(spec.report_dir + "/" + stem + "-loss.png", losses);
    md << "![training loss](" << stem << "-loss.png)\n\n";
  }
}

// An ablation's table, and one plot per metric (and delta_m) against its values.
void write_ablation(const ExperimentSpec& spec, const std::vector<RowSummary>& rows,
                    const AblationSpec& ablation, const std::string& stem, std::ostringstream& md) {
  md << "#### Ablation: " << ablation.name << " (on " << ablation.method << ")\n\n"
     << markdown_table(summary_table(spec, rows, ablation.name)) << "\n";
  std::vector<const RowSummary*> points;
  bool numeric = true;
  for (const auto& row : rows) {
    if (row.ablation != ablation.name || row.seeds.empty()) continue;
    points.push_back(&row);
    numeric = numeric && row.x.has_value();
  }
  if (points.empty()) return;
  std::vector<std::string> plotted{"delta_m"};
  std::set<std::string> tasks_seen;
  for (const auto& [metric, value] : points.front()->metrics) {
    const std::string task = metric.substr(0, metric.find('.'));
    const bool listed = spec.metrics.empty() || std::find(spec.metrics.begin(), spec.metrics.end(),
                                                          metric) != spec.metrics.end();
    if (listed && tasks_seen.insert(task).second) plotted.push_back(metric);
  }
  for (const auto& what : plotted) {
    LinePlot plot;
    plot.title = spec.name + ": " + ablation.name + " ablation, " + what;
    plot.x_label = numeric ? ablation.name : ablation.name + " (value index, see table)";
    plot.y_label = what == "delta_m" ? "delta_m %" : what;
    plot.log_x = numeric && ablation.log_x;
    Series series{"", {}, {}};
    for (size_t i = 0; i < points.size(); ++i) {
      const auto* row = points[i];
      const double y = what == "delta_m"          ? row->delta_m.mean
                       : row->metrics.count(what) ? row->metrics.at(what).mean
                                                  : std::nan("");
      series.x.push_back(numeric ? *row->x : static_cast<double>(i));
      series.y.push_back(y);
    }
    plot.series.push_back(series);
    const std::string file = stem + "-ablation-" + slug(ablation.name) + "-" + slug(what) + ".png";
    save_line_plot(spec.report_dir + "/" + file, plot);
    md << "![" << ablation.name << " vs " << what << "](" << file << ") ";
  }
  md << "\n\n";
}

// One CSV with every row: the methods' table columns plus the ablation name.
Table report_csv(const ExperimentSpec& spec, const std::vector<RowSummary>& rows) {
  Table csv;
  std::vector<std::string> groups{""};
  for (const auto& ablation : spec.ablations) groups.push_back(ablation.name);
  for (const auto& group : groups) {
    Table part = summary_table(spec, rows, group);
    if (!group.empty()) {
      // Drop the reference and ablated method rows the ablation table repeats.
      const auto& ablation = *std::find_if(spec.ablations.begin(), spec.ablations.end(),
                                           [&](const AblationSpec& a) { return a.name == group; });
      const size_t repeated = ablation.method == spec.reference ? 1 : 2;
      part.rows.erase(part.rows.begin(), part.rows.begin() + static_cast<std::ptrdiff_t>(repeated));
    }
    if (csv.header.empty()) {
      csv.header = part.header;
      csv.header[0] = "row";
      csv.header.insert(csv.header.begin(), "ablation");
    }
    for (auto& cells : part.rows) {
      cells.insert(cells.begin(), group);
      csv.rows.push_back(cells);
    }
  }
  return csv;
}

}  // namespace

std::string write_report(const ExperimentSpec& spec) {
  std::filesystem::create_directories(spec.report_dir);
  const auto rows = summarize(spec);
  const std::string stem = slug(spec.name);
  std::ostringstream md;
  md << "### " << spec.name << "\n\n"
     << "Δm: per seed against the `" << spec.reference
     << "` run of the same seed, then mean ± std (sample std) over seeds. "
     << "Train s: wall time of training (evaluation excluded).\n\n"
     << markdown_table(summary_table(spec, rows, "")) << "\n";

  write_loss_plot(spec, rows, stem, md);
  for (const auto& ablation : spec.ablations) write_ablation(spec, rows, ablation, stem, md);
  const Table csv = report_csv(spec, rows);
  save_csv(spec.report_dir + "/" + stem + ".csv", csv);
  const std::string text = md.str();
  write_file_atomically(spec.report_dir + "/" + stem + ".md",
                        [&](std::ostream& out) { out << text; });
  return text;
}

}  // namespace nddr
