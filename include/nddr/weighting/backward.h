#pragma once
// Back-propagation through a weighting method: the one call the trainer makes.
//
// Shared parameters. A parameter counts as shared when the losses of two or
// more tasks reach it with a gradient that is not exactly zero, read off the
// step itself. So for each fusion method (docs/weighting.md):
//   single                     none: gradient methods are an Error
//   split                      the shared trunk ("shared.*")
//   nddr, nddr_shortcut,       every column stage up to the last fusion layer
//   cross_stitch, sluice       and the fusion layers but the last NDDR layer's
//                              per-task BatchNorm and 1x1 conv; stages after
//                              the last fusion layer, heads, shortcut and
//                              sluice output units see one task only
// Gradient methods replace the shared parameters' gradient with their
// combination d = sum_t a_t g_t; every task-specific parameter keeps the
// gradient of its own task's loss.

#include <torch/torch.h>

#include <functional>
#include <vector>

#include "nddr/weighting/weighting.h"

namespace nddr {

/// grads[t][i]: gradient of losses[t] with respect to parameters[i],
/// undefined when that loss does not reach that parameter. Keeps the graph.
/// The losses are separate scalars: rows of one stacked tensor would all
/// reach every parameter (through the stack, with zeros).
std::vector<std::vector<torch::Tensor>> per_task_gradients(
    const std::vector<torch::Tensor>& losses, const std::vector<torch::Tensor>& parameters);

/// shared[i]: the gradients of two or more tasks reach parameters[i] and
/// are not exactly zero there; with `average` (distributed), on any rank.
std::vector<bool> shared_mask(const std::vector<std::vector<torch::Tensor>>& grads,
                              const std::function<void(torch::Tensor&)>& average = {});

/// `parameters` should include the weighting's own (IMTL's loss scales are
/// reached by one task each, so they get their task's gradient).
/// Fills the .grad of `parameters` from the T per-task scalar losses as
/// `weighting` says (loss-based: backward of combine(); gradient-based: the
/// combination above) and returns the loss to report: the combined loss of a
/// loss-based method, sum_t a_t L_t of a gradient-based one. A gradient
/// method on a network that shares no parameter is an Error.
///
/// Distributed (context.average set): a loss-based method's gradients are
/// the rank's, for the caller's gradient average; a gradient method's are
/// already the global batch's, shared and task-specific alike (one
/// all-reduce), so the caller must not average them again.
torch::Tensor weighted_backward(Weighting& weighting, const std::vector<torch::Tensor>& losses,
                                const std::vector<torch::Tensor>& parameters,
                                const WeightingContext& context);

/// Representation mode (MGDA-UB and the like): the weights come from the
/// per-task gradients of `representation`, the features every task's loss
/// goes through, and the backward pass is that of sum_t a_t L_t: one backward
/// through the trunk instead of T.
torch::Tensor representation_backward(Weighting& weighting,
                                      const std::vector<torch::Tensor>& losses,
                                      const torch::Tensor& representation,
                                      const WeightingContext& context);

}  // namespace nddr
