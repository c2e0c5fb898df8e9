#include "nddr/models/shortcut.h"

#include <numeric>

#include "nddr/layers/resize.h"
#include "nddr/util/error.h"

namespace nddr {

namespace {

int64_t total_channels(const StageMergeOptions& options, const char* layer_name) {
  const auto& channels = options.stage_channels();
  if (channels.empty()) throw Error(std::string(layer_name) + ": no stage maps to merge");
  for (int64_t c : channels) {
    if (c < 1) {
      throw Error(std::string(layer_name) + ": stage channels must be >= 1, got " +
                  std::to_string(c));
    }
  }
  if (options.out_channels() < 1) {
    throw Error(std::string(layer_name) + ": out_channels must be >= 1, got " +
                std::to_string(options.out_channels()));
  }
  return std::accumulate(channels.begin(), channels.end(), int64_t{0});
}

torch::nn::Conv2d conv1x1(int64_t in, int64_t out) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1).bias(false));
}

}  // namespace

NddrShortcutImpl::NddrShortcutImpl(StageMergeOptions options) : options(std::move(options)) {
  reset();
}

void NddrShortcutImpl::reset() {
  const int64_t out = options.out_channels();
  conv = register_module("conv", conv1x1(total_channels(options, "NddrShortcut"), out));
  torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
  bn = register_module("bn", BatchNorm2d(torch::nn::BatchNorm2dOptions(out)
                                             .momentum(options.bn_momentum())
                                             .eps(options.bn_eps())));
}

torch::Tensor NddrShortcutImpl::forward(const std::vector<torch::Tensor>& stages) {
  TORCH_CHECK(stages.size() == options.stage_channels().size(), "NddrShortcut expects ",
              options.stage_channels().size(), " stage maps, got ", stages.size());
  const auto resized = resize_to_last_stage(stages, /*align_corners=*/false);
  return torch::relu(batch_norm_unless_folded(bn, conv(torch::cat(resized, 1))));
}

void NddrShortcutImpl::fold_batchnorm() {
  if (!bn) return;
  conv = replace_module("conv", fold_conv_batchnorm(*conv, *bn));
  unregister_module("bn");
  bn = nullptr;
}

SluiceOutputImpl::SluiceOutputImpl(StageMergeOptions options) : options(std::move(options)) {
  reset();
}

void SluiceOutputImpl::reset() {
  const int64_t in = total_channels(options, "SluiceOutput");
  const int64_t out = options.out_channels();
  const int64_t last = options.stage_channels().back();
  if (last != out) {
    throw Error("SluiceOutput: the last stage's channels (" + std::to_string(last) +
                ") must equal out_channels (" + std::to_string(out) + ")");
  }
  mixing =
      register_module("mixing", StageMixing(static_cast<int64_t>(options.stage_channels().size())));
  conv = register_module("conv", conv1x1(in, out));
  torch::NoGradGuard no_grad;
  conv->weight.zero_();
  conv->weight.view({out, in}).narrow(1, in - out, out).copy_(torch::eye(out));
}

torch::Tensor SluiceOutputImpl::forward(const std::vector<torch::Tensor>& stages) {
  return conv(mixing(stages));
}

}  // namespace nddr
