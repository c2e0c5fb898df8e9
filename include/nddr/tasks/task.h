#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace nddr {

struct TaskKindTraits;  // nddr/tasks/task_kind.h

/// What a task predicts: a handle on its entry in the task-kind registry
/// (nddr/tasks/task_kind.h), which decides its head, loss, metrics and target
/// layout. Built from the entry's name: "segmentation", "normals", "depth",
/// "classification" or any kind registered since.
class TaskKind {
 public:
  /// The registered kind `name`; an unknown name is an Error listing the
  /// valid ones and the closest match.
  /// Implicit, so that a task reads {"seg", "segmentation", 40}.
  TaskKind(const std::string& name);
  TaskKind(const char* name);

  const std::string& name() const;
  const TaskKindTraits& traits() const { return *traits_; }
  const TaskKindTraits* operator->() const { return traits_; }

  friend bool operator==(const TaskKind& a, const TaskKind& b) { return a.traits_ == b.traits_; }
  friend bool operator!=(const TaskKind& a, const TaskKind& b) { return !(a == b); }

 private:
  const TaskKindTraits* traits_;
};

std::ostream& operator<<(std::ostream& out, const TaskKind& kind);

/// Label value ignored by segmentation losses and metrics.
constexpr int64_t kIgnoreLabel = 255;

/// The kind registered as `name`, e.g. from a config; an unknown name is an
/// Error listing the valid ones.
TaskKind parse_task_kind(const std::string& name);
std::string to_string(const TaskKind& kind);

/// Dense tasks predict a map at the input's resolution.
bool is_dense(const TaskKind& kind);

/// One task of a multi-task network.
struct TaskSpec {
  std::string name;  ///< unique, used to key outputs, targets and metrics
  TaskKind kind{"segmentation"};
  int64_t channels = 0;  ///< output channels: classes, 3 for normals, 1 for depth
  double loss_weight = 1.0;
};

/// Validates a task list: non-empty, unique names, channels fitting the kind.
void validate_tasks(const std::vector<TaskSpec>& tasks);

}  // namespace nddr
