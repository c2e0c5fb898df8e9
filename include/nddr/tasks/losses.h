#pragma once

#include <torch/torch.h>

#include "nddr/tasks/task.h"

namespace nddr {

/// The task's training loss, averaged over its valid elements; zero (with a
/// gradient path) when no element is valid. `output` is the raw network output
/// at the target's spatial size ([N,C,H,W] dense, [N,C] classification).
///  - segmentation: softmax cross-entropy, label 255 ignored
///  - normals: 1 - cos(normalised prediction, normalised target) over pixels
///    whose target is not the zero vector
///  - depth: L1 over pixels with target > 0
///  - classification: cross-entropy, label -1 ignored
torch::Tensor task_loss(const TaskSpec& task, const torch::Tensor& output,
                        const torch::Tensor& target);

/// Resizes a dense target to (height, width) with nearest-neighbour sampling,
/// as the reference does to bring labels to the logits' size.
torch::Tensor resize_target_nearest(const torch::Tensor& target, TaskKind kind, int64_t height,
                                    int64_t width);

}  // namespace nddr
