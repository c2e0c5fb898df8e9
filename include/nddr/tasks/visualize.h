#pragma once
// Turns targets and predictions into uint8 RGB images [H,W,3] for viewing
// (write them with io's write_png); used by `nddr predict` and the
// TensorBoard log.

#include <torch/torch.h>

#include "nddr/tasks/task.h"

namespace nddr {

/// Label map int [H,W] -> RGB: every label 0..254 gets its own colour from a
/// fixed palette (PASCAL VOC's bit-interleaved one, shifted by one so that no
/// class is black); the ignore label 255 is black. Other labels are an Error.
torch::Tensor colorize_segmentation(const torch::Tensor& labels);

/// Normals [3,H,W] in [-1,1] -> RGB (n + 1) / 2 * 255, rounded and clamped,
/// x -> red, y -> green, z -> blue. The invalid zero vector becomes mid grey.
/// Raw network outputs are not unit length: L2-normalise them over the
/// channel dimension first, as the loss and metrics do.
torch::Tensor colorize_normals(const torch::Tensor& normals);

/// Depth [H,W] or [1,H,W] -> RGB through viridis (dark purple = near/low,
/// yellow = far/high). `min` and `max` default to the range of the valid
/// pixels; values outside are clamped. Pixels <= 0 or non-finite (invalid
/// depth) are black. A min above max is an Error.
torch::Tensor colorize_depth(const torch::Tensor& depth, c10::optional<double> min = c10::nullopt,
                             c10::optional<double> max = c10::nullopt);

/// A dense task's raw output [C,H,W] (logits, unnormalised normals, depth)
/// -> RGB: segmentation by its argmax, normals L2-normalised, depth as is.
/// A classification task is an Error.
torch::Tensor colorize_prediction(const TaskSpec& task, const torch::Tensor& output);

/// Viridis colour map: values in [0,1] (clamped), any shape S -> uint8 [S..., 3].
/// A compact approximation of matplotlib's viridis: linear interpolation
/// between its colours at 9 evenly spaced stops.
torch::Tensor viridis(const torch::Tensor& values);

}  // namespace nddr
