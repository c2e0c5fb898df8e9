#include "nddr/tasks/task.h"

#include <set>

#include "nddr/tasks/task_kind.h"
#include "nddr/util/error.h"

namespace nddr {

TaskKind parse_task_kind(const std::string& name) { return TaskKind(name); }

std::string to_string(const TaskKind& kind) { return kind.name(); }

bool is_dense(const TaskKind& kind) { return kind->dense; }

void validate_tasks(const std::vector<TaskSpec>& tasks) {
  if (tasks.empty()) throw Error("no tasks given: a network needs at least one task");
  std::set<std::string> seen;
  for (const auto& task : tasks) {
    if (task.name.empty()) throw Error("a task has an empty name");
    if (task.name.find('.') != std::string::npos) {
      throw Error("task name '" + task.name + "' contains '.', which parameter names reserve");
    }
    if (!seen.insert(task.name).second) throw Error("task name '" + task.name + "' is used twice");
    const int64_t fixed = task.kind->fixed_channels;
    if (fixed > 0 && task.channels != fixed) {
      throw Error("task '" + task.name + "': " + task.kind.name() + " needs " +
                  std::to_string(fixed) + " channel" + (fixed == 1 ? "" : "s") + ", got " +
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
