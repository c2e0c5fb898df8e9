#include <string>

#include "nddr/tasks/metrics.h"
#include "nddr/util/error.h"

namespace nddr {

double delta_m(const std::map<std::string, MetricValues>& multi_task,
               const std::map<std::string, MetricValues>& single_task,
               const std::map<std::string, std::map<std::string, bool>>& higher_is_better) {
  if (multi_task.empty()) throw Error("delta_m: the multi-task results name no task");
  double total = 0;
  for (const auto& [task, metrics] : multi_task) {
    if (metrics.empty()) throw Error("delta_m: task '" + task + "' has no metrics");
    const auto single = single_task.find(task);
    if (single == single_task.end()) {
      throw Error("delta_m: task '" + task + "' has no single-task result");
    }
    const auto flags = higher_is_better.find(task);
    double task_sum = 0;
    for (const auto& [metric, value] : metrics) {
      const std::string key = "'" + task + "." + metric + "'";
      const auto baseline = single->second.find(metric);
      if (baseline == single->second.end()) {
        throw Error("delta_m: metric " + key + " has no single-task result");
      }
      if (flags == higher_is_better.end() || flags->second.count(metric) == 0) {
        throw Error("delta_m: metric " + key + " has no higher_is_better flag");
      }
      if (baseline->second == 0) {
        throw Error("delta_m: single-task value of " + key + " is 0, so the relative change is " +
                    "undefined");
      }
      const double sign = flags->second.at(metric) ? 1.0 : -1.0;
      task_sum += sign * (value - baseline->second) / baseline->second;
    }
    total += task_sum / static_cast<double>(metrics.size());
  }
  return 100 * total / static_cast<double>(multi_task.size());
}

}  // namespace nddr
