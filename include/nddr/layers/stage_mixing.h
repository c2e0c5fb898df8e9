#pragma once
// Sluice-network stage mixing (Ruder et al. 2019, "beta" units): one task's
// head sees a learned weighting of several stages' outputs instead of the last
// stage alone. Stages differ in channels and size, so each map is resized
// bilinearly to the last one's size, scaled by its weight, and the scaled maps
// are concatenated along channels. Used together with CrossStitch for the
// "sluice" fusion method; one unit per task.

#include <torch/torch.h>

#include <vector>

namespace nddr {

struct StageMixingOptions {
  /* implicit */ StageMixingOptions(int64_t num_stages) : num_stages_(num_stages) {}
  /// L, the number of stage outputs mixed (>= 1).
  TORCH_ARG(int64_t, num_stages);
  /// Bilinear resize convention; false is PyTorch's default (half-pixel centres).
  TORCH_ARG(bool, align_corners) = false;
};

/// Parameter "beta" [L], initialised to 1. For stage maps x_l [N, C_l, H_l, W_l]
/// returns concat_l(beta_l * resize(x_l, H_{L-1}, W_{L-1})), [N, sum_l C_l, H, W].
///
///   StageMixing mix(3);
///   auto fused = mix->forward({stage1, stage2, stage3});  // at stage3's size
class StageMixingImpl : public torch::nn::Cloneable<StageMixingImpl> {
 public:
  explicit StageMixingImpl(StageMixingOptions options);
  void reset() override;
  /// Sets every stage weight back to 1.
  void reset_parameters();
  /// `stages[l]` is the l-th stage's map [N, C_l, H_l, W_l], all with the same N.
  torch::Tensor forward(const std::vector<torch::Tensor>& stages);

  StageMixingOptions options;
  torch::Tensor beta;
};
TORCH_MODULE(StageMixing);

}  // namespace nddr
