#include "nddr/models/heads.h"

#include "nddr/layers/pointwise_conv.h"

namespace nddr {

namespace {

// DeepLab starts its classifier from small Gaussian weights and zero bias, so
// the initial logits are near zero whatever the features' scale.
constexpr double kLastLayerStd = 0.01;

void init_last_layer(torch::Tensor& weight, torch::Tensor& bias) {
  torch::NoGradGuard no_grad;
  weight.normal_(0.0, kLastLayerStd);
  bias.zero_();
}

}  // namespace

LargeFovHeadImpl::LargeFovHeadImpl(LargeFovHeadOptions options) : options(std::move(options)) {
  reset();
}

void LargeFovHeadImpl::reset() {
  const int64_t hidden = options.hidden();
  auto bn_options = [&] {
    return torch::nn::BatchNorm2dOptions(hidden)
        .momentum(options.bn_momentum())
        .eps(options.bn_eps());
  };
  fc6 = register_module("fc6",
                        torch::nn::Conv2d(torch::nn::Conv2dOptions(options.in_channels(), hidden, 3)
                                              .padding(options.dilation())
                                              .dilation(options.dilation())
                                              .bias(false)));
  bn6 = register_module("bn6", BatchNorm2d(bn_options()));
  drop6 = register_module("drop6", torch::nn::Dropout2d(options.dropout()));
  fc7 = register_module("fc7",
                        torch::nn::Conv2d(torch::nn::Conv2dOptions(hidden, hidden, 1).bias(false)));
  bn7 = register_module("bn7", BatchNorm2d(bn_options()));
  drop7 = register_module("drop7", torch::nn::Dropout2d(options.dropout()));
  fc8 = register_module(
      "fc8",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(hidden, options.out_channels(), 1).bias(true)));
  torch::nn::init::kaiming_normal_(fc6->weight, 0.0, torch::kFanOut, torch::kReLU);
  torch::nn::init::kaiming_normal_(fc7->weight, 0.0, torch::kFanOut, torch::kReLU);
  init_last_layer(fc8->weight, fc8->bias);
}

torch::Tensor LargeFovHeadImpl::forward(torch::Tensor x) {
  x = drop6(torch::relu(batch_norm_unless_folded(bn6, fc6(x))));
  x = drop7(
      torch::relu(batch_norm_unless_folded(bn7, pointwise_conv2d(x, fc7->weight, fc7->bias))));
  return pointwise_conv2d(x, fc8->weight, fc8->bias);
}

void LargeFovHeadImpl::fold_batchnorm() {
  if (!bn6) return;
  fc6 = replace_module("fc6", fold_conv_batchnorm(*fc6, *bn6));
  fc7 = replace_module("fc7", fold_conv_batchnorm(*fc7, *bn7));
  unregister_module("bn6");
  unregister_module("bn7");
  bn6 = nullptr;
  bn7 = nullptr;
}

ClassificationHeadImpl::ClassificationHeadImpl(ClassificationHeadOptions options)
    : options(std::move(options)) {
  reset();
}

void ClassificationHeadImpl::reset() {
  fc8 = register_module("fc8", torch::nn::Linear(options.in_channels(), options.classes()));
  init_last_layer(fc8->weight, fc8->bias);
}

torch::Tensor ClassificationHeadImpl::forward(torch::Tensor x) {
  TORCH_CHECK(x.dim() == 4, "ClassificationHead expects [N,C,H,W], got ", x.sizes());
  x = x.mean({2, 3});
  x = torch::dropout(x, options.dropout(), is_training());
  return fc8(x);
}

}  // namespace nddr
