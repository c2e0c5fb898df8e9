#include "nddr/backbones/vgg.h"
#include "nddr/layers/batch_norm.h"

#include <string>
#include <vector>

#include "nddr/layers/batchnorm_folding.h"
#include "nddr/layers/max_pool.h"
#include "nddr/util/error.h"

namespace nddr {

namespace {

// The reference code's BatchNorm (TF decay 0.95, epsilon 1e-3), in PyTorch's
// momentum convention.
constexpr double kBnMomentum = 0.05;
constexpr double kBnEps = 1e-3;

// One stage of VGG-16: its 3x3 convs and the pooling that ends it. Each layer
// carries its index in torchvision's vgg16_bn `features` (conv, BN, ReLU take
// three consecutive indices; the pooling one), so names match torchvision.
struct VggStage {
  std::string name;
  int64_t first_index;  // index of the stage's first conv in `features`
  int64_t convs;
  int64_t channels;  // before the width multiplier
  int64_t dilation;
  int64_t pool_stride;
  bool average_pool;  // LargeFOV's pool5 is max-pool then average-pool
};

const std::vector<VggStage>& vgg_stages() {
  static const std::vector<VggStage> stages = {
      {"pool1", 0, 2, 64, 1, 2, false},   {"pool2", 7, 2, 128, 1, 2, false},
      {"pool3", 14, 3, 256, 1, 2, false}, {"pool4", 24, 3, 512, 1, 1, false},
      {"pool5", 34, 3, 512, 2, 1, true},
  };
  return stages;
}

// The stages at a given output stride. LargeFOV (stride 8) already trades
// pool4's stride for dilation in conv5; a smaller stride does the same earlier,
// DeepLab's way: each pooling whose stride 2 would pass the target keeps
// stride 1, and every later conv dilates twice as much, so receptive fields
// stay what they were in input pixels.
std::vector<VggStage> vgg_stages_at(int64_t output_stride) {
  std::vector<VggStage> stages = vgg_stages();
  int64_t stride = 1, extra_dilation = 1;
  for (VggStage& stage : stages) {
    stage.dilation *= extra_dilation;
    if (stage.pool_stride == 2 && stride * 2 > output_stride) {
      stage.pool_stride = 1;
      extra_dilation *= 2;
    }
    stride *= stage.pool_stride;
  }
  return stages;
}

class VggColumnImpl : public ColumnImpl, public FoldsBatchNorm {
 public:
  VggColumnImpl(int64_t first, int64_t end, const std::vector<VggStage>& specs,
                const std::vector<StageInfo>& infos, int64_t in_channels)
      : ColumnImpl(first, end) {
    features_ = register_module("features", std::make_shared<torch::nn::Module>());
    auto& features = features_;
    int64_t channels = first == 0 ? in_channels : infos[first - 1].channels;
    for (int64_t s = first; s < end; ++s) {
      const VggStage& spec = specs[s];
      std::vector<torch::nn::AnyModule> layers;
      int64_t index = spec.first_index;
      auto add = [&](auto module) {
        features->register_module(std::to_string(index++), module);
        layers.emplace_back(module);
      };
      for (int64_t c = 0; c < spec.convs; ++c) {
        const int64_t out = infos[s].channels;
        auto conv = torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, out, 3)
                                          .padding(spec.dilation)
                                          .dilation(spec.dilation)
                                          .bias(false));
        torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
        add(conv);
        add(BatchNorm2d(torch::nn::BatchNorm2dOptions(out).momentum(kBnMomentum).eps(kBnEps)));
        add(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
        channels = out;
      }
      // Floor mode with padding 1 maps every size H to ceil(H / stride): 321 -> 161, 64 -> 32.
      add(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(3).stride(spec.pool_stride).padding(1)));
      if (spec.average_pool) {
        add(torch::nn::AvgPool2d(
            torch::nn::AvgPool2dOptions(3).stride(1).padding(1).count_include_pad(false)));
      }
      stages_.push_back(std::move(layers));
    }
  }

  torch::Tensor forward_stage(int64_t index, torch::Tensor x) override {
    TORCH_CHECK(index >= first_ && index < end_, "VGG column holds stages [", first_, ", ", end_,
                "), asked for stage ", index);
    for (auto& layer : stages_[index - first_]) {
      // Pooling through nddr::max_pool2d: its inference path is much faster.
      const auto* pool = layer.ptr()->as<torch::nn::MaxPool2d>();
      x = pool != nullptr ? max_pool2d(x, pool->options) : layer.forward(x);
    }
    return x;
  }

  // Each conv absorbs the BatchNorm after it; the others keep their
  // torchvision indices, so "features.<i>" names still match.
  void fold_batchnorm() override {
    auto name_of = [&](const torch::nn::AnyModule& layer) {
      for (const auto& child : features_->named_children()) {
        if (child.value().get() == layer.ptr().get()) return child.key();
      }
      TORCH_CHECK(false, "VGG column: a layer is not registered under features");
    };
    for (auto& layers : stages_) {
      for (size_t i = 0; i + 1 < layers.size(); ++i) {
        auto* conv = layers[i].ptr()->as<torch::nn::Conv2d>();
        auto* norm = layers[i + 1].ptr()->as<torch::nn::BatchNorm2d>();
        if (conv == nullptr || norm == nullptr) continue;
        auto folded =
            features_->replace_module(name_of(layers[i]), fold_conv_batchnorm(*conv, *norm));
        features_->unregister_module(name_of(layers[i + 1]));
        layers[i] = torch::nn::AnyModule(torch::nn::Conv2d(folded));
        layers.erase(layers.begin() + static_cast<std::ptrdiff_t>(i) + 1);
      }
    }
  }

 private:
  std::shared_ptr<torch::nn::Module> features_;
  std::vector<std::vector<torch::nn::AnyModule>> stages_;
};

class Vgg16LargeFov : public Backbone {
 public:
  explicit Vgg16LargeFov(const BackboneOptions& options)
      : in_channels_(options.in_channels), specs_(vgg_stages_at(options.output_stride)) {
    int64_t stride = 1;
    for (const auto& spec : specs_) {
      stride *= spec.pool_stride;
      infos_.push_back({spec.name, scale_channels(spec.channels, options.width), stride});
    }
  }

  const std::vector<StageInfo>& stages() const override { return infos_; }

  std::shared_ptr<ColumnImpl> make_column(int64_t first, int64_t end) const override {
    TORCH_CHECK(first >= 0 && first < end && end <= num_stages(), "bad VGG stage range [", first,
                ", ", end, ")");
    return std::make_shared<VggColumnImpl>(first, end, specs_, infos_, in_channels_);
  }

 private:
  int64_t in_channels_;
  std::vector<VggStage> specs_;
  std::vector<StageInfo> infos_;
};

}  // namespace

std::unique_ptr<Backbone> make_vgg16_largefov(const BackboneOptions& options) {
  const int64_t os = options.output_stride;
  if (os != 2 && os != 4 && os != 8) {
    throw Error("backbone 'vgg16_largefov' supports output_stride 2, 4 or 8, got " +
                std::to_string(os));
  }
  return std::make_unique<Vgg16LargeFov>(options);
}

}  // namespace nddr
