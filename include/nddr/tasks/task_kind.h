#pragma once
// The task-kind registry: everything that differs between kinds of task lives
// in one TaskKindTraits entry, so that adding a kind is one file that fills an
// entry plus one registration line in src/tasks/task_kind.cpp (walkthrough:
// docs/architecture.md).

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nddr/tasks/losses.h"
#include "nddr/tasks/metrics.h"
#include "nddr/tasks/task.h"
#include "nddr/util/registry.h"

namespace nddr {

/// How a target file stores its values (the manifest's options).
struct TargetFileOptions {
  double depth_scale = 0.001;  ///< stored value -> metres
};

struct TaskKindTraits {
  std::string name;
  /// Dense kinds predict a map at the input's resolution; the others one
  /// vector of logits per image, and their targets are not resized, flipped
  /// or cropped.
  bool dense = true;
  /// Output channels the kind always has (normals 3, depth 1); 0: the task
  /// chooses them (its number of classes) and the config must give them.
  int64_t fixed_channels = 0;
  /// dtype and shape of one sample's target for an image of height x width
  /// (a batch stacks them along a new first dimension).
  torch::ScalarType target_dtype = torch::kFloat;
  std::function<std::vector<int64_t>(int64_t height, int64_t width)> target_shape;
  /// The value marking an element invalid: a missing target is filled with
  /// it, and padding of dense targets uses it.
  double invalid_value = 0.0;
  /// One sample's target flipped left-right along with its image.
  std::function<torch::Tensor(const torch::Tensor& target)> flip;
  /// The training loss as (sum over valid elements, their count): see
  /// task_loss_terms in losses.h for the layouts.
  std::function<LossTerms(const TaskSpec& task, const torch::Tensor& output,
                          const torch::Tensor& target)>
      loss;
  std::function<std::unique_ptr<MetricAccumulator>(const TaskSpec& task)> make_metric;
  /// One image's raw output [C,H,W] as an RGB uint8 [H,W,3] picture; empty
  /// for kinds that have no picture (not dense).
  std::function<torch::Tensor(const torch::Tensor& output)> colorize;
  /// `count` valid random targets of the batch layout for `nddr bench`.
  std::function<torch::Tensor(const TaskSpec& task, int64_t count, int64_t height, int64_t width)>
      random_targets;
  /// One sample's target read from a file a manifest names; empty: the
  /// manifest cell holds the class label itself. Errors name the file.
  std::function<torch::Tensor(const std::string& path, const TaskSpec& task,
                              const TargetFileOptions& options)>
      read_file;
};

/// The task-kind registry with the built-in kinds; add to it (before any
/// TaskKind of the new name is made) to plug in a kind.
Registry<TaskKindTraits>& task_kind_registry();

}  // namespace nddr
