#include "nddr/layers/batchnorm_folding.h"

#include "nddr/util/error.h"

namespace nddr {

torch::nn::Conv2d fold_conv_batchnorm(const torch::nn::Conv2dImpl& conv,
                                      const torch::nn::BatchNorm2dImpl& batch_norm) {
  const auto& options = conv.options;
  const int64_t channels = options.out_channels();
  if (!batch_norm.options.track_running_stats() || !batch_norm.running_var.defined()) {
    throw Error("fold_batchnorm: a BatchNorm without running statistics cannot be folded");
  }
  TORCH_CHECK(batch_norm.options.num_features() == channels, "fold_batchnorm: BatchNorm of ",
              batch_norm.options.num_features(), " channels after a conv of ", channels);
  TORCH_CHECK(!options.transposed(), "fold_batchnorm: transposed convolutions are not folded");
  torch::nn::Conv2d folded(
      torch::nn::Conv2dOptions(options.in_channels(), channels, options.kernel_size())
          .stride(options.stride())
          .padding(options.padding())
          .dilation(options.dilation())
          .groups(options.groups())
          .padding_mode(options.padding_mode())
          .bias(true));
  folded->to(conv.weight.device(), conv.weight.scalar_type());

  torch::NoGradGuard no_grad;
  const auto as_double = [](const torch::Tensor& t) { return t.to(torch::kDouble); };
  const auto double_options = conv.weight.options().dtype(torch::kDouble);
  const torch::Tensor gamma = batch_norm.weight.defined() ? as_double(batch_norm.weight)
                                                          : torch::ones({channels}, double_options);
  const torch::Tensor beta = batch_norm.bias.defined() ? as_double(batch_norm.bias)
                                                       : torch::zeros({channels}, double_options);
  const torch::Tensor bias =
      conv.bias.defined() ? as_double(conv.bias) : torch::zeros({channels}, double_options);
  const torch::Tensor scale =
      gamma / (as_double(batch_norm.running_var) + batch_norm.options.eps()).sqrt();
  folded->weight.copy_(as_double(conv.weight) * scale.view({channels, 1, 1, 1}));
  folded->bias.copy_(beta + (bias - as_double(batch_norm.running_mean)) * scale);
  return folded;
}

}  // namespace nddr
