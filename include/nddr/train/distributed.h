#pragma once
// What the trainer synchronises across ranks besides gradients: the starting
// weights, the BatchNorm running statistics, and the loss normalisation that
// makes an averaged gradient equal to the gradient of the single-process loss
// over the global batch. With no collective (one process) nothing here runs.

#include <torch/torch.h>

#include <functional>
#include <vector>

#include "nddr/tasks/losses.h"
#include "nddr/util/collective.h"

namespace nddr {

/// Every parameter and buffer of `module` becomes rank 0's (one broadcast of
/// a flat buffer per dtype).
void broadcast_module_state(torch::nn::Module& module, Collective& collective,
                            const std::string& what);

/// Makes the BatchNorm running statistics the same on every rank: synchronised
/// (SyncBatchNorm) layers already agree and take rank 0's exactly; per-rank
/// layers take the mean over ranks. Called before every evaluation and
/// checkpoint.
void synchronise_running_stats(torch::nn::Module& module, Collective& collective);

/// Per-task losses to back-propagate and their values over the global batch.
struct RankLosses {
  /// Rank-local sum x world_size / global count: averaging the gradients of
  /// these over the ranks gives the gradient of sum / count over all ranks.
  std::vector<torch::Tensor> backward;
  /// sum / count over every rank (for logs).
  std::vector<double> values;
};

/// Normalises each task's loss terms by the valid-element count over every
/// rank (one all-reduce of 2 x tasks numbers).
RankLosses normalise_over_ranks(const std::vector<LossTerms>& terms, Collective& collective);

/// The task weighting's WeightingContext::average: an all-reduce over the
/// ranks, then / world size, run on `device` (NCCL takes device tensors
/// only) and copied back to where the tensor was.
std::function<void(torch::Tensor&)> weighting_average(Collective& collective,
                                                      const torch::Device& device);

}  // namespace nddr
