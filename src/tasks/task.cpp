#include "nddr/tasks/task.h"

#include <set>

#include "nddr/util/error.h"
#include "nddr/util/strings.h"

namespace nddr {

namespace {
const std::vector<std::string> kKindNames = {"segmentation", "normals", "depth", "classification"};
}

TaskKind parse_task_kind(const std::string& name) {
  for (size_t i = 0; i < kKindNames.size(); ++i) {
    if (kKindNames[i] == name) return static_cast<TaskKind>(i);
  }
  throw Error("unknown task kind '" + name + "'" + did_you_mean(name, kKindNames) +
              "; valid: " + join(kKindNames, ", "));
}

std::string to_string(TaskKind kind) { return kKindNames.at(static_cast<size_t>(kind)); }

bool is_dense(TaskKind kind) { return kind != TaskKind::kClassification; }

void validate_tasks(const std::vector<TaskSpec>& tasks) {
  if (tasks.empty()) throw Error("no tasks given: a network needs at least one task");
  std::set<std::string> seen;
  for (const auto& task : tasks) {
    if (task.name.empty()) throw Error("a task has an empty name");
    if (task.name.find('.') != std::string::npos) {
      throw Error("task name '" + task.name + "' contains '.', which parameter names reserve");
    }
    if (!seen.insert(task.name).second) throw Error("task name '" + task.name + "' is used twice");
    if (task.kind == TaskKind::kNormals && task.channels != 3) {
      throw Error("task '" + task.name + "': normals need 3 channels, got " +
                  std::to_string(task.channels));
    }
    if (task.kind == TaskKind::kDepth && task.channels != 1) {
      throw Error("task '" + task.name + "': depth needs 1 channel, got " +
                  std::to_string(task.channels));
    }
    if (task.channels < 1) {
      throw Error("task '" + task.name + "': channels must be >= 1, got " +
                  std::to_string(task.channels));
    }
    if (task.loss_weight < 0) {
      throw Error("task '" + task.name + "': loss_weight must be >= 0");
    }
  }
}

}  // namespace nddr
