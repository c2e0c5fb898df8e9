#pragma once
// Per-task units that feed a head from several fused stages instead of the
// last one alone: the NDDR-CNN-Shortcut merge and the sluice network's output.

#include <torch/torch.h>
#include "nddr/layers/batch_norm.h"

#include <vector>

#include "nddr/layers/batchnorm_folding.h"
#include "nddr/layers/stage_mixing.h"

namespace nddr {

struct StageMergeOptions {
  StageMergeOptions(std::vector<int64_t> stage_channels, int64_t out_channels)
      : stage_channels_(std::move(stage_channels)), out_channels_(out_channels) {}
  /// Channels of each merged stage map, in stage order (the last sets the size).
  TORCH_ARG(std::vector<int64_t>, stage_channels);
  /// Channels given to the head (the last stage's, so the head is unchanged).
  TORCH_ARG(int64_t, out_channels);
  /// BatchNorm as in the NDDR layers (TF decay 0.95, eps 1e-3).
  TORCH_ARG(double, bn_momentum) = 0.05;
  TORCH_ARG(double, bn_eps) = 1e-3;
};

/// NDDR-CNN-Shortcut: every stage map but the last is resized bilinearly
/// (align_corners=false) to the last one's size, all are concatenated in stage
/// order, then 1x1 conv (no bias) + BN + ReLU. Parameters "conv.weight",
/// "bn.weight", "bn.bias". VGG, 2 tasks: 64+128+256+512+512 = 1472 -> 512.
class NddrShortcutImpl : public torch::nn::Cloneable<NddrShortcutImpl>, public FoldsBatchNorm {
 public:
  explicit NddrShortcutImpl(StageMergeOptions options);
  void reset() override;
  /// `stages[l]` is [N, stage_channels[l], H_l, W_l]; returns [N, out, H_last, W_last].
  torch::Tensor forward(const std::vector<torch::Tensor>& stages);
  /// bn into conv (bn becomes an empty holder).
  void fold_batchnorm() override;

  StageMergeOptions options;
  torch::nn::Conv2d conv{nullptr};
  BatchNorm2d bn{nullptr};
};
TORCH_MODULE(NddrShortcut);

/// Sluice output: StageMixing (learned weight per stage, resize, concatenate)
/// then a 1x1 conv (no bias) back to `out_channels`. The conv starts as the
/// identity on the last stage's block and zero elsewhere, so a sluice network
/// starts as the cross-stitch network it extends. Parameters "mixing.beta",
/// "conv.weight".
class SluiceOutputImpl : public torch::nn::Cloneable<SluiceOutputImpl> {
 public:
  explicit SluiceOutputImpl(StageMergeOptions options);
  void reset() override;
  torch::Tensor forward(const std::vector<torch::Tensor>& stages);

  StageMergeOptions options;
  StageMixing mixing{nullptr};
  torch::nn::Conv2d conv{nullptr};
};
TORCH_MODULE(SluiceOutput);

}  // namespace nddr
