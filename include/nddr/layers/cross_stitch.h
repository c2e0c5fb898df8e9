#pragma once
// Cross-stitch unit (Misra et al. 2016): task k's output is a learned linear
// combination of all tasks' features, sum_j a[k][j] * x_j, with one scalar per
// task pair or one per pair and channel.

#include <torch/torch.h>

#include "nddr/layers/fusion_layer.h"

namespace nddr {

struct CrossStitchOptions {
  CrossStitchOptions(int64_t num_tasks, int64_t channels)
      : num_tasks_(num_tasks), channels_(channels) {}
  TORCH_ARG(int64_t, num_tasks);
  TORCH_ARG(int64_t, channels);
  /// One weight per (task pair, channel) instead of one per task pair.
  TORCH_ARG(bool, per_channel) = true;
  /// How the weights start; Xavier and MSRA count the K mixed tasks as both
  /// fan-in and fan-out (the C channels are independent mixings).
  TORCH_ARG(FusionInit, init) = FusionInit::kDiagonal;
  /// Own-task weight at the diagonal init.
  TORCH_ARG(double, alpha) = 0.9;
  /// Other-task weight at the diagonal init.
  TORCH_ARG(double, beta) = 0.1;
};

/// Parameter "weight": [K, K, C] when per_channel, else [K, K];
/// weight[k][j] scales task j's features in task k's output.
class CrossStitchImpl : public torch::nn::Cloneable<CrossStitchImpl> {
 public:
  CrossStitchImpl(int64_t num_tasks, int64_t channels)
      : CrossStitchImpl(CrossStitchOptions(num_tasks, channels)) {}
  explicit CrossStitchImpl(CrossStitchOptions options);
  void reset() override;
  /// Re-initialises the weights according to options.
  void reset_parameters();
  /// `features[k]` is task k's map [N,C,H,W]; returns one map per task.
  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& features);

  CrossStitchOptions options;
  torch::Tensor weight;
};
TORCH_MODULE(CrossStitch);

}  // namespace nddr
