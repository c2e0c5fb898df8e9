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
/// Targets are batched as in data::Batch: segmentation int64 [N,H,W], normals
/// [N,3,H,W], depth [N,1,H,W], classification int64 [N]. The task's
/// loss_weight is not applied here: the caller weighs the task losses.
/// A label outside [0, channels) other than the ignore value is an Error.
torch::Tensor task_loss(const TaskSpec& task, const torch::Tensor& output,
                        const torch::Tensor& target);

/// task_loss in two parts: the loss summed over the valid elements, and their
/// count (both 0-dim, in the output's dtype); task_loss = sum / max(count, 1).
/// Distributed training divides each rank's sum by the count over all ranks,
/// so that the averaged gradient is that of the loss over the global batch.
struct LossTerms {
  torch::Tensor sum;
  torch::Tensor count;
};
LossTerms task_loss_terms(const TaskSpec& task, const torch::Tensor& output,
                          const torch::Tensor& target);

/// Resizes a dense target to (height, width) with nearest-neighbour sampling,
/// as the reference does to bring labels to the logits' size (and as the
/// scale augmentation resizes targets).
/// The convention is exactly torch's interpolate(mode=nearest): output index i
/// reads input index min(floor(i * in / out), in - 1), the ratio in float32,
/// top-left aligned with no half-pixel offset. Works on [H,W], [C,H,W] and
/// [N,C,H,W] (the last two dimensions are resized), any dtype, values copied
/// unchanged. Classification targets are returned as they are.
torch::Tensor resize_target_nearest(const torch::Tensor& target, const TaskKind& kind,
                                    int64_t height, int64_t width);

}  // namespace nddr
