#include "nddr/tasks/results.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "nddr/io/atomic_file.h"
#include "nddr/util/error.h"

namespace nddr {

using nlohmann::json;

namespace {

/// Error helper: every message names the file and the key at fault.
class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& problem) const {
    throw Error("results file '" + path_ + "': " + (key.empty() ? "" : "key '" + key + "' ") +
                problem);
  }

  const json& member(const json& object, const std::string& name, const std::string& key,
                     json::value_t type) const {
    auto it = object.find(name);
    if (it == object.end()) fail(key, "is missing");
    expect(*it, key, type);
    return *it;
  }

  void expect(const json& value, const std::string& key, json::value_t type) const {
    if (value.type() == type) return;
    fail(key, std::string("must be ") + json(type).type_name() + ", got " + value.type_name());
  }

  double number(const json& value, const std::string& key) const {
    if (value.is_null()) return std::numeric_limits<double>::quiet_NaN();
    if (!value.is_number()) fail(key, std::string("must be a number, got ") + value.type_name());
    return value.get<double>();
  }

 private:
  std::string path_;
};

json to_json(const RunResults& results) {
  json tasks = json::object();
  for (const auto& [task, metrics] : results.tasks) {
    json values = json::object();
    // json would write NaN as null anyway; doing it here keeps that explicit.
    for (const auto& [metric, value] : metrics) {
      values[metric] = std::isnan(value) ? json(nullptr) : json(value);
    }
    tasks[task] = values;
  }
  json flags = json::object();
  for (const auto& [task, metrics] : results.higher_is_better) flags[task] = metrics;
  json info = json::object();
  for (const auto& [key, value] : results.info) info[key] = value;
  return {{"method", results.method},
          {"config", results.config},
          {"tasks", tasks},
          {"higher_is_better", flags},
          {"info", info}};
}

}  // namespace

void save_results(const std::string& path, const RunResults& results) {
  const std::string text = to_json(results).dump(2) + "\n";
  write_file_atomically(path, [&](std::ostream& out) { out << text; });
}

RunResults load_results(const std::string& path) {
  const Reader reader(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open results file '" + path + "'");
  json root;
  try {
    root = json::parse(in);
  } catch (const json::exception& error) {
    reader.fail("", std::string("is not valid JSON: ") + error.what());
  }
  reader.expect(root, "", json::value_t::object);

  RunResults results;
  results.method =
      reader.member(root, "method", "method", json::value_t::string).get<std::string>();
  if (root.contains("config")) {
    results.config =
        reader.member(root, "config", "config", json::value_t::string).get<std::string>();
  }
  const auto& tasks = reader.member(root, "tasks", "tasks", json::value_t::object);
  const auto& flags =
      reader.member(root, "higher_is_better", "higher_is_better", json::value_t::object);
  for (const auto& [task, metrics] : tasks.items()) {
    const std::string task_key = "tasks." + task;
    reader.expect(metrics, task_key, json::value_t::object);
    const std::string flags_key = "higher_is_better." + task;
    const auto& task_flags = reader.member(flags, task, flags_key, json::value_t::object);
    for (const auto& [metric, value] : metrics.items()) {
      results.tasks[task][metric] = reader.number(value, task_key + "." + metric);
      results.higher_is_better[task][metric] =
          reader.member(task_flags, metric, flags_key + "." + metric, json::value_t::boolean)
              .get<bool>();
    }
  }
  if (root.contains("info")) {
    for (const auto& [key, value] :
         reader.member(root, "info", "info", json::value_t::object).items()) {
      reader.expect(value, "info." + key, json::value_t::string);
      results.info[key] = value.get<std::string>();
    }
  }
  return results;
}

RunResults select_metrics(const RunResults& results, const std::vector<std::string>& keys) {
  if (keys.empty()) return results;
  RunResults kept = results;
  kept.tasks.clear();
  for (const auto& [task, metrics] : results.tasks) {
    for (const auto& [metric, value] : metrics) {
      if (std::find(keys.begin(), keys.end(), task + "." + metric) != keys.end()) {
        kept.tasks[task][metric] = value;
      }
    }
  }
  return kept;
}

std::vector<std::string> missing_metrics(const RunResults& results,
                                         const std::vector<std::string>& keys) {
  std::vector<std::string> missing;
  for (const auto& key : keys) {
    const auto dot = key.find('.');
    const auto task =
        dot == std::string::npos ? results.tasks.end() : results.tasks.find(key.substr(0, dot));
    if (task == results.tasks.end() || !task->second.count(key.substr(dot + 1))) {
      missing.push_back(key);
    }
  }
  return missing;
}

double delta_m(const RunResults& multi_task, const std::vector<RunResults>& single_task) {
  std::map<std::string, MetricValues> pooled;
  std::map<std::string, std::string> source;
  for (const auto& run : single_task) {
    for (const auto& [task, metrics] : run.tasks) {
      if (!pooled.emplace(task, metrics).second) {
        throw Error("delta_m: task '" + task + "' appears in two single-task runs ('" +
                    source[task] + "' and '" + run.method + "')");
      }
      source[task] = run.method;
    }
  }
  return delta_m(multi_task.tasks, pooled, multi_task.higher_is_better);
}

}  // namespace nddr
