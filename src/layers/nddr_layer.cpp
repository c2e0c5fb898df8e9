#include "nddr/layers/nddr_layer.h"
#include "nddr/layers/batch_norm.h"
#include "nddr/layers/pointwise_conv.h"

#include "nddr/util/error.h"

namespace nddr {

NddrLayerImpl::NddrLayerImpl(NddrLayerOptions options) : options(std::move(options)) { reset(); }

void NddrLayerImpl::reset() {
  const int64_t tasks = options.num_tasks();
  const int64_t channels = options.channels();
  if (tasks < 2) throw Error("NddrLayer: num_tasks must be >= 2, got " + std::to_string(tasks));
  if (channels < 1)
    throw Error("NddrLayer: channels must be >= 1, got " + std::to_string(channels));
  conv = register_module("conv", torch::nn::ModuleList());
  bn = register_module("bn", torch::nn::ModuleList());
  for (int64_t k = 0; k < tasks; ++k) {
    conv->push_back(
        torch::nn::Conv2d(torch::nn::Conv2dOptions(tasks * channels, channels, 1).bias(false)));
    if (options.batch_norm()) {
      bn->push_back(BatchNorm2d(torch::nn::BatchNorm2dOptions(channels)
                                    .momentum(options.bn_momentum())
                                    .eps(options.bn_eps())));
    }
  }
  reset_parameters();
}

void NddrLayerImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  const int64_t tasks = options.num_tasks();
  const int64_t channels = options.channels();
  for (int64_t k = 0; k < tasks; ++k) {
    torch::Tensor weight = conv[k]->as<torch::nn::Conv2d>()->weight;
    switch (options.init()) {
      case FusionInit::kDiagonal: {
        // Input blocks are in task order: block j holds task j's channels.
        weight.zero_();
        auto matrix = weight.view({channels, tasks, channels});
        const auto eye = torch::eye(channels, weight.options());
        for (int64_t j = 0; j < tasks; ++j) {
          matrix.select(1, j).copy_(eye * (j == k ? options.alpha() : options.beta()));
        }
        break;
      }
      case FusionInit::kXavier:
        torch::nn::init::xavier_uniform_(weight);
        break;
      case FusionInit::kMsra:
        torch::nn::init::kaiming_normal_(weight, 0.0, torch::kFanIn, torch::kReLU);
        break;
    }
  }
  for (const auto& norm : *bn) norm->as<BatchNorm2d>()->reset_parameters();
}

std::vector<torch::Tensor> NddrLayerImpl::forward(const std::vector<torch::Tensor>& features) {
  const int64_t tasks = options.num_tasks();
  check_fusion_inputs(features, tasks, options.channels(), "NddrLayer");
  // One conv K*C -> K*C with every task's weights stacked equals the K per-task
  // convs, but backward needs one input-gradient conv instead of K plus their
  // sum. At the paper's sizes it matched the per-task convs in inference and
  // was up to ~20% faster per training step; per-block convs that skip the
  // concatenation were 7-50% slower and matmul forms no faster
  // (bench/bench_fusion_layers.cpp).
  std::vector<torch::Tensor> weights, biases;
  for (const auto& module : *conv) {
    const auto* layer = module->as<torch::nn::Conv2d>();
    weights.push_back(layer->weight);
    if (layer->bias.defined()) biases.push_back(layer->bias);  // only once BN is folded
  }
  const torch::Tensor bias = biases.empty() ? torch::Tensor() : torch::cat(biases, 0);
  auto outputs =
      pointwise_conv2d(torch::cat(features, 1), torch::cat(weights, 0), bias).chunk(tasks, 1);
  for (int64_t k = 0; k < tasks; ++k) {
    if (options.batch_norm()) outputs[k] = bn[k]->as<BatchNorm2d>()->forward(outputs[k]);
    if (options.relu()) outputs[k] = torch::relu(outputs[k]);
  }
  return outputs;
}

void NddrLayerImpl::fold_batchnorm() {
  if (!options.batch_norm()) return;
  torch::nn::ModuleList folded;
  for (int64_t k = 0; k < options.num_tasks(); ++k) {
    folded->push_back(fold_conv_batchnorm(*conv[k]->as<torch::nn::Conv2d>(),
                                          *bn[k]->as<torch::nn::BatchNorm2d>()));
  }
  conv = replace_module("conv", folded);
  bn = replace_module("bn", torch::nn::ModuleList());
  options.batch_norm(false);
}

}  // namespace nddr
