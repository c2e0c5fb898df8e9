#include "nddr/backbones/resnet.h"
#include "nddr/layers/batch_norm.h"

#include <map>
#include <string>
#include <vector>

#include "nddr/layers/batchnorm_folding.h"
#include "nddr/util/error.h"
#include "nddr/util/strings.h"

namespace nddr {

namespace {

// ResNet keeps torchvision's BatchNorm defaults (momentum 0.1, eps 1e-5), so
// torchvision weights behave as trained.
BatchNorm2d batch_norm(int64_t channels) { return BatchNorm2d(channels); }

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1,
                       int64_t dilation = 1) {
  auto layer = torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel)
                                     .stride(stride)
                                     .padding(kernel / 2 * dilation)
                                     .dilation(dilation)
                                     .bias(false));
  torch::nn::init::kaiming_normal_(layer->weight, 0.0, torch::kFanOut, torch::kReLU);
  return layer;
}

// One residual block: torchvision's BasicBlock (two 3x3 convs) or, when
// `bottleneck`, its Bottleneck (1x1, 3x3 carrying stride and dilation, 1x1 x4).
struct BlockSpec {
  int64_t in_channels;
  int64_t planes;
  int64_t stride;
  int64_t dilation;
  bool bottleneck;
};

class ResidualBlockImpl : public torch::nn::Module, public FoldsBatchNorm {
 public:
  explicit ResidualBlockImpl(const BlockSpec& spec) {
    const int64_t expansion = spec.bottleneck ? 4 : 1;
    const int64_t out = spec.planes * expansion;
    if (spec.bottleneck) {
      conv1 = register_module("conv1", conv(spec.in_channels, spec.planes, 1));
      bn1 = register_module("bn1", batch_norm(spec.planes));
      conv2 =
          register_module("conv2", conv(spec.planes, spec.planes, 3, spec.stride, spec.dilation));
      bn2 = register_module("bn2", batch_norm(spec.planes));
      conv3 = register_module("conv3", conv(spec.planes, out, 1));
      bn3 = register_module("bn3", batch_norm(out));
    } else {
      conv1 = register_module("conv1",
                              conv(spec.in_channels, spec.planes, 3, spec.stride, spec.dilation));
      bn1 = register_module("bn1", batch_norm(spec.planes));
      conv2 = register_module("conv2", conv(spec.planes, out, 3, 1, spec.dilation));
      bn2 = register_module("bn2", batch_norm(out));
    }
    if (spec.stride != 1 || spec.in_channels != out) {
      downsample = register_module(
          "downsample",
          torch::nn::Sequential(conv(spec.in_channels, out, 1, spec.stride), batch_norm(out)));
    }
  }

  torch::Tensor forward(torch::Tensor x) {
    torch::Tensor identity = downsample ? downsample->forward(x) : x;
    torch::Tensor y = torch::relu(batch_norm_unless_folded(bn1, conv1(x)));
    y = batch_norm_unless_folded(bn2, conv2(y));
    if (conv3) y = batch_norm_unless_folded(bn3, conv3(torch::relu(y)));
    return torch::relu(y + identity);
  }

  void fold_batchnorm() override {
    if (!bn1) return;
    conv1 = replace_module("conv1", fold_conv_batchnorm(*conv1, *bn1));
    conv2 = replace_module("conv2", fold_conv_batchnorm(*conv2, *bn2));
    if (conv3) conv3 = replace_module("conv3", fold_conv_batchnorm(*conv3, *bn3));
    for (const char* name : {"bn1", "bn2", "bn3"}) {
      if (named_children().contains(name)) unregister_module(name);
    }
    bn1 = bn2 = bn3 = nullptr;
    if (downsample) {
      downsample = replace_module("downsample", torch::nn::Sequential(fold_conv_batchnorm(
                                                    *downsample[0]->as<torch::nn::Conv2d>(),
                                                    *downsample[1]->as<torch::nn::BatchNorm2d>())));
    }
  }

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  torch::nn::Sequential downsample{nullptr};
};
TORCH_MODULE(ResidualBlock);

// layer1..layer4 as torchvision's _make_layer builds them: a dilated layer
// trades its stride for dilation, and its first block keeps the previous
// layer's dilation.
struct LayerSpec {
  int64_t blocks;
  int64_t planes;
  int64_t stride;
  int64_t first_dilation;
  int64_t dilation;
};

struct ResNetSpec {
  bool bottleneck;
  std::vector<int64_t> blocks;
};

const std::map<int64_t, ResNetSpec>& resnet_specs() {
  static const std::map<int64_t, ResNetSpec> specs = {
      {18, {false, {2, 2, 2, 2}}},
      {34, {false, {3, 4, 6, 3}}},
      {50, {true, {3, 4, 6, 3}}},
      {101, {true, {3, 4, 23, 3}}},
  };
  return specs;
}

class ResNetColumnImpl : public ColumnImpl, public FoldsBatchNorm {
 public:
  ResNetColumnImpl(int64_t first, int64_t end, const std::vector<StageInfo>& infos,
                   const std::vector<LayerSpec>& layers, bool bottleneck, int64_t in_channels)
      : ColumnImpl(first, end) {
    for (int64_t s = first; s < end; ++s) {
      const int64_t stage_in = s == 0 ? in_channels : infos[s - 1].channels;
      if (s == 0) {
        conv1 = register_module("conv1", conv(stage_in, infos[0].channels, 7, 2));
        bn1 = register_module("bn1", batch_norm(infos[0].channels));
        continue;
      }
      const LayerSpec& layer = layers[s - 1];
      torch::nn::Sequential blocks;
      int64_t channels = stage_in;
      for (int64_t b = 0; b < layer.blocks; ++b) {
        blocks->push_back(
            ResidualBlock(BlockSpec{channels, layer.planes, b == 0 ? layer.stride : 1,
                                    b == 0 ? layer.first_dilation : layer.dilation, bottleneck}));
        channels = infos[s].channels;
      }
      layers_.push_back(register_module("layer" + std::to_string(s), blocks));
    }
  }

  torch::Tensor forward_stage(int64_t index, torch::Tensor x) override {
    TORCH_CHECK(index >= first_ && index < end_, "ResNet column holds stages [", first_, ", ", end_,
                "), asked for stage ", index);
    if (index == 0) {
      x = torch::relu(batch_norm_unless_folded(bn1, conv1(x)));
      return torch::max_pool2d(x, {3, 3}, {2, 2}, {1, 1});
    }
    return layers_[index - std::max<int64_t>(first_, 1)]->forward(x);
  }

  // The stem; the residual blocks fold themselves.
  void fold_batchnorm() override {
    if (!bn1) return;
    conv1 = replace_module("conv1", fold_conv_batchnorm(*conv1, *bn1));
    unregister_module("bn1");
    bn1 = nullptr;
  }

  torch::nn::Conv2d conv1{nullptr};
  BatchNorm2d bn1{nullptr};

 private:
  std::vector<torch::nn::Sequential> layers_;
};

class ResNet : public Backbone {
 public:
  ResNet(const BackboneOptions& options, const ResNetSpec& spec)
      : bottleneck_(spec.bottleneck), in_channels_(options.in_channels) {
    const int64_t expansion = spec.bottleneck ? 4 : 1;
    infos_.push_back({"stem", scale_channels(64, options.width), 4});
    int64_t stride = 4;
    int64_t dilation = 1;
    for (int64_t k = 0; k < 4; ++k) {
      LayerSpec layer{spec.blocks[k], scale_channels(64 << k, options.width), k == 0 ? 1 : 2,
                      dilation, dilation};
      // Output stride 8 dilates layer3 and layer4; 16 only layer4.
      const bool dilate = (options.output_stride == 8 && k >= 2) || k == 3;
      if (dilate) {
        layer.dilation = dilation *= layer.stride;
        layer.stride = 1;
      }
      stride *= layer.stride;
      layers_.push_back(layer);
      infos_.push_back({"layer" + std::to_string(k + 1), layer.planes * expansion, stride});
    }
  }

  const std::vector<StageInfo>& stages() const override { return infos_; }

  std::shared_ptr<ColumnImpl> make_column(int64_t first, int64_t end) const override {
    TORCH_CHECK(first >= 0 && first < end && end <= num_stages(), "bad ResNet stage range [", first,
                ", ", end, ")");
    return std::make_shared<ResNetColumnImpl>(first, end, infos_, layers_, bottleneck_,
                                              in_channels_);
  }

 private:
  bool bottleneck_;
  int64_t in_channels_;
  std::vector<LayerSpec> layers_;
  std::vector<StageInfo> infos_;
};

}  // namespace

std::unique_ptr<Backbone> make_resnet(const BackboneOptions& options, int64_t depth) {
  auto spec = resnet_specs().find(depth);
  TORCH_CHECK(spec != resnet_specs().end(), "no ResNet of depth ", depth);
  if (options.output_stride != 8 && options.output_stride != 16) {
    throw Error("backbone '" + options.name + "': output_stride must be 8 or 16, got " +
                std::to_string(options.output_stride));
  }
  return std::make_unique<ResNet>(options, spec->second);
}

}  // namespace nddr
