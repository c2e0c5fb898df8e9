#pragma once
// Neural Discriminative Dimensionality Reduction: for each task, a 1x1 conv
// over the channel concatenation of all K tasks' features (K*C -> C, no bias),
// then BatchNorm and ReLU (each switchable off for ablations).

#include <torch/torch.h>

#include "nddr/layers/batchnorm_folding.h"
#include "nddr/layers/fusion_layer.h"

namespace nddr {

struct NddrLayerOptions {
  NddrLayerOptions(int64_t num_tasks, int64_t channels)
      : num_tasks_(num_tasks), channels_(channels) {}
  /// K, the number of tasks (>= 2).
  TORCH_ARG(int64_t, num_tasks);
  /// C, the channels of every task's features.
  TORCH_ARG(int64_t, channels);
  /// How the 1x1 weights start.
  TORCH_ARG(FusionInit, init) = FusionInit::kDiagonal;
  /// Own-task block of the diagonal init.
  TORCH_ARG(double, alpha) = 0.9;
  /// Every other task's block of the diagonal init.
  TORCH_ARG(double, beta) = 0.1;
  /// BatchNorm after the 1x1 conv.
  TORCH_ARG(bool, batch_norm) = true;
  /// ReLU at the end (the reference code has it).
  TORCH_ARG(bool, relu) = true;
  /// BatchNorm momentum, PyTorch convention (TF decay 0.95).
  TORCH_ARG(double, bn_momentum) = 0.05;
  TORCH_ARG(double, bn_eps) = 1e-3;
};

/// Parameters: "conv.<k>.weight" [C, K*C, 1, 1] for task k, whose input
/// blocks are in task order; "bn.<k>.weight"/"bn.<k>.bias" when batch_norm.
class NddrLayerImpl : public torch::nn::Cloneable<NddrLayerImpl>, public FoldsBatchNorm {
 public:
  NddrLayerImpl(int64_t num_tasks, int64_t channels)
      : NddrLayerImpl(NddrLayerOptions(num_tasks, channels)) {}
  explicit NddrLayerImpl(NddrLayerOptions options);

  void reset() override;
  /// Re-initialises the 1x1 weights according to options (BN to identity).
  void reset_parameters();

  /// `features[k]` is task k's map [N,C,H,W]; returns one map per task.
  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& features);
  /// Each task's BatchNorm goes into its 1x1 conv, which gains a bias;
  /// options.batch_norm() is false afterwards.
  void fold_batchnorm() override;

  NddrLayerOptions options;
  torch::nn::ModuleList conv{nullptr};
  torch::nn::ModuleList bn{nullptr};  ///< empty when batch_norm is off
};
TORCH_MODULE(NddrLayer);

}  // namespace nddr
