#include <algorithm>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "nddr/report/table.h"
#include "nddr/tasks/results.h"
#include "nddr/util/error.h"
#include "nddr/util/strings.h"

namespace nddr::cli {

namespace {

std::string format_value(double value) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(std::abs(value) < 10 ? 4 : 2) << value;
  return out.str();
}

struct CompareCommand {
  // The file's results, cut down to --metrics (when given); a listed metric
  // the file lacks is an error naming both.
  RunResults load_selected(const std::string& path) const {
    const RunResults results = load_results(path);
    const auto missing = missing_metrics(results, metrics);
    if (!missing.empty()) {
      throw Error("'" + path + "' has no metric " + join(missing, ", ") +
                  " (--metrics takes task.metric names, e.g. seg.miou)");
    }
    return select_metrics(results, metrics);
  }

  std::vector<std::string> result_files;
  std::vector<std::string> single_files;
  std::vector<std::string> metrics;

  void run() const {
    std::vector<RunResults> runs;
    for (const auto& path : result_files) runs.push_back(load_selected(path));
    std::vector<RunResults> singles;
    for (const auto& path : single_files) singles.push_back(load_selected(path));

    Table table;
    table.header = {"run", "method"};
    std::vector<std::pair<std::string, std::string>> columns;  // (task, metric)
    for (const auto& task : runs.front().tasks) {
      for (const auto& metric : task.second) {
        columns.emplace_back(task.first, metric.first);
        const bool higher = runs.front().higher_is_better.at(task.first).at(metric.first);
        table.header.push_back(task.first + " " + metric.first + (higher ? " ↑" : " ↓"));
      }
    }
    if (!singles.empty()) table.header.push_back("delta_m % ↑");
    table.align.assign(table.header.size(), Align::kRight);
    table.align[0] = table.align[1] = Align::kLeft;

    for (size_t i = 0; i < runs.size(); ++i) {
      const RunResults& run = runs[i];
      // Metrics of a run with non-finite outputs mean nothing: say so
      // instead of printing numbers that could rank well.
      const bool invalid =
          is_invalid(run) ||
          std::any_of(singles.begin(), singles.end(), [](const auto& s) { return is_invalid(s); });
      std::vector<std::string> row = {
          result_files[i], is_invalid(run)
                               ? run.method + " (INVALID: " + run.info.at(kInvalidInfoKey) + ")"
                               : run.method};
      for (const auto& column : columns) {
        const auto task = run.tasks.find(column.first);
        if (task == run.tasks.end() || !task->second.count(column.second)) {
          throw Error("'" + result_files[i] + "' has no metric " + column.first + "." +
                      column.second + " (compare runs of the same tasks)");
        }
        row.push_back(is_invalid(run) ? "invalid" : format_value(task->second.at(column.second)));
      }
      if (!singles.empty())
        row.push_back(invalid ? "invalid" : format_value(delta_m(run, singles)));
      table.rows.push_back(row);
    }
    std::cout << markdown_table(table);
  }
};

}  // namespace

void add_compare_command(CLI::App& app) {
  auto command = std::make_shared<CompareCommand>();
  CLI::App* sub = app.add_subcommand(
      "compare", "Print runs' metrics side by side, with delta_m against single-task runs");
  sub->add_option("results", command->result_files, "results.json files of the runs to compare")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("-s,--single", command->single_files,
                  "results.json of the single-task reference run(s) for delta_m")
      ->check(CLI::ExistingFile);
  sub->add_option("-m,--metrics", command->metrics,
                  "only these task.metric columns, also for delta_m (e.g. seg.miou normals.mean)");
  sub->callback([command] { command->run(); });
}

}  // namespace nddr::cli
