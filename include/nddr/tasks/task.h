#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nddr {

/// What a task predicts; decides its head, loss, metrics and target layout.
enum class TaskKind {
  kSegmentation,    ///< per-pixel class; target int64 [H,W], 255 = ignore
  kNormals,         ///< per-pixel unit vector; target float [3,H,W], zero vector = invalid
  kDepth,           ///< per-pixel depth; target float [1,H,W], 0 = invalid
  kClassification,  ///< one class per image; target int64 scalar
};

/// Label value ignored by segmentation losses and metrics.
constexpr int64_t kIgnoreLabel = 255;

/// "segmentation", "normals", "depth", "classification" <-> TaskKind; an
/// unknown name is an Error listing the valid ones.
TaskKind parse_task_kind(const std::string& name);
std::string to_string(TaskKind kind);

/// Dense tasks predict a map at the input's resolution.
bool is_dense(TaskKind kind);

/// One task of a multi-task network.
struct TaskSpec {
  std::string name;  ///< unique, used to key outputs, targets and metrics
  TaskKind kind = TaskKind::kSegmentation;
  int64_t channels = 0;  ///< output channels: classes, 3 for normals, 1 for depth
  double loss_weight = 1.0;
};

/// Validates a task list: non-empty, unique names, channels fitting the kind.
void validate_tasks(const std::vector<TaskSpec>& tasks);

}  // namespace nddr
