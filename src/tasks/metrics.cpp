#include "nddr/tasks/metrics.h"

#include "nddr/tasks/task_kind.h"

namespace nddr {

std::unique_ptr<MetricAccumulator> make_metric(const TaskSpec& task) {
  return task.kind->make_metric(task);
}

}  // namespace nddr
