#pragma once
// Task heads: turn a column's last features into a task's output.

#include <torch/torch.h>
#include "nddr/layers/batch_norm.h"

#include "nddr/layers/batchnorm_folding.h"

namespace nddr {

/// DeepLab-LargeFOV head: fc6 = 3x3 conv (dilation 12) + BN + ReLU + dropout,
/// fc7 = 1x1 conv + BN + ReLU + dropout, fc8 = 1x1 conv with bias.
struct LargeFovHeadOptions {
  LargeFovHeadOptions(int64_t in_channels, int64_t out_channels)
      : in_channels_(in_channels), out_channels_(out_channels) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  /// Width of fc6 and fc7 (1024 in the paper).
  TORCH_ARG(int64_t, hidden) = 1024;
  TORCH_ARG(int64_t, dilation) = 12;
  TORCH_ARG(double, dropout) = 0.5;
  TORCH_ARG(double, bn_momentum) = 0.05;
  TORCH_ARG(double, bn_eps) = 1e-3;
};

/// Parameters: fc6.weight, bn6.*, fc7.weight, bn7.*, fc8.weight, fc8.bias.
class LargeFovHeadImpl : public torch::nn::Cloneable<LargeFovHeadImpl>, public FoldsBatchNorm {
 public:
  explicit LargeFovHeadImpl(LargeFovHeadOptions options);
  void reset() override;
  torch::Tensor forward(torch::Tensor x);
  /// bn6 into fc6, bn7 into fc7 (bn6/bn7 become empty holders).
  void fold_batchnorm() override;

  LargeFovHeadOptions options;
  torch::nn::Conv2d fc6{nullptr}, fc7{nullptr}, fc8{nullptr};
  BatchNorm2d bn6{nullptr}, bn7{nullptr};
  torch::nn::Dropout2d drop6{nullptr}, drop7{nullptr};
};
TORCH_MODULE(LargeFovHead);

/// Classification head: global average pool, dropout, linear "fc8" (named
/// like the dense head's last layer so both get the last-layer LR multipliers).
struct ClassificationHeadOptions {
  ClassificationHeadOptions(int64_t in_channels, int64_t classes)
      : in_channels_(in_channels), classes_(classes) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, classes);
  TORCH_ARG(double, dropout) = 0.0;
};

class ClassificationHeadImpl : public torch::nn::Cloneable<ClassificationHeadImpl> {
 public:
  explicit ClassificationHeadImpl(ClassificationHeadOptions options);
  void reset() override;
  /// [N,C,H,W] -> logits [N,classes].
  torch::Tensor forward(torch::Tensor x);

  ClassificationHeadOptions options;
  torch::nn::Linear fc8{nullptr};
};
TORCH_MODULE(ClassificationHead);

}  // namespace nddr
