#pragma once
// Shape and label checks shared by the losses and the metrics.

#include <torch/torch.h>

#include "nddr/tasks/task.h"

namespace nddr {

/// Label ignored by classification losses and metrics.
constexpr int64_t kIgnoreClass = -1;

/// Throws Error when a label is neither in [0, task.channels) nor `ignore`:
/// such a label would index outside the logits, so it is bad data to report.
void check_labels(const TaskSpec& task, const torch::Tensor& labels, int64_t ignore);

/// TORCH_CHECKs a dense output [N,task.channels,H,W] against a target
/// [N,target_channels,H,W].
void check_dense_shapes(const TaskSpec& task, const torch::Tensor& output,
                        const torch::Tensor& target, int64_t target_channels);

/// TORCH_CHECKs a segmentation target [N,H,W] against its output.
void check_segmentation_shapes(const TaskSpec& task, const torch::Tensor& output,
                               const torch::Tensor& target);

/// TORCH_CHECKs a classification output [N,task.channels] and target [N].
void check_classification_shapes(const TaskSpec& task, const torch::Tensor& output,
                                 const torch::Tensor& target);

}  // namespace nddr
