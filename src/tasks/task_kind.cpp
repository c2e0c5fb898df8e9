#include "nddr/tasks/task_kind.h"

namespace nddr {

// The built-in kinds, one file each: src/tasks/kind_<name>.cpp.
TaskKindTraits segmentation_kind();
TaskKindTraits normals_kind();
TaskKindTraits depth_kind();
TaskKindTraits classification_kind();

Registry<TaskKindTraits>& task_kind_registry() {
  static Registry<TaskKindTraits> registry = [] {
    Registry<TaskKindTraits> builtin("task kind");
    const auto add = [&](const TaskKindTraits& kind) { builtin.add(kind.name, kind); };
    add(segmentation_kind());
    add(normals_kind());
    add(depth_kind());
    add(classification_kind());
    return builtin;
  }();
  return registry;
}

TaskKind::TaskKind(const std::string& name) : traits_(&task_kind_registry().get(name)) {}

TaskKind::TaskKind(const char* name) : TaskKind(std::string(name)) {}

const std::string& TaskKind::name() const { return traits_->name; }

std::ostream& operator<<(std::ostream& out, const TaskKind& kind) { return out << kind.name(); }

}  // namespace nddr
