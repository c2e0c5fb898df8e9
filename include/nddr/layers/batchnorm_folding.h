#pragma once
// Inference-only BatchNorm folding: an eval-mode BatchNorm after a convolution
// is an affine map per channel, so the convolution can absorb it (weights
// scaled, bias shifted) and the BatchNorm can go. Modules that own conv ->
// BatchNorm pairs implement FoldsBatchNorm; nddr::fold_batchnorm
// (models/fold_batchnorm.h) walks a whole network through it.

#include <torch/torch.h>

namespace nddr {

/// A module whose conv -> BatchNorm pairs can be merged for inference.
class FoldsBatchNorm {
 public:
  virtual ~FoldsBatchNorm() = default;
  /// Replaces each conv followed by a BatchNorm with one conv (with bias) that
  /// computes the pair's eval-mode result, and removes the BatchNorm from the
  /// module (it no longer appears in named_modules() or named_parameters()).
  /// Irreversible: the module is then for inference only (no train(), clone()
  /// or reset()).
  virtual void fold_batchnorm() = 0;
};

/// The conv equal to `conv` followed by `batch_norm` in eval mode, on the
/// same device and dtype: weight * gamma / sqrt(var + eps) per output channel,
/// bias beta + (bias - mean) * gamma / sqrt(var + eps), computed in double.
/// A BatchNorm without running statistics is an Error.
torch::nn::Conv2d fold_conv_batchnorm(const torch::nn::Conv2dImpl& conv,
                                      const torch::nn::BatchNorm2dImpl& batch_norm);

/// `batch_norm(x)`, or `x` once folding has removed `batch_norm` (a holder of
/// torch's or nddr's BatchNorm2d, layers/batch_norm.h).
template <typename BatchNormHolder>
torch::Tensor batch_norm_unless_folded(BatchNormHolder& batch_norm, const torch::Tensor& x) {
  return batch_norm ? batch_norm->forward(x) : x;
}

}  // namespace nddr
