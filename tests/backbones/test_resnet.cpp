#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "nddr/backbones/backbone.h"
#include "nddr/util/error.h"

namespace nddr {
namespace {

namespace F = torch::nn::functional;

std::unique_ptr<Backbone> resnet(int64_t depth, double width, int64_t output_stride = 8) {
  BackboneOptions options;
  options.name = "resnet" + std::to_string(depth);
  options.width = width;
  options.output_stride = output_stride;
  return make_backbone(options);
}

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t total = 0;
  for (const auto& p : module.parameters()) total += p.numel();
  return total;
}

TEST(ResNet, ParameterCountsMatchTorchvisionWithoutFc) {
  // torchvision totals minus the ImageNet fc layer (512*1000+1000 or 2048*1000+1000).
  EXPECT_EQ(count_parameters(*resnet(18, 1.0)->make_column(0, 5)), 11689512 - 513000);
  EXPECT_EQ(count_parameters(*resnet(34, 1.0)->make_column(0, 5)), 21797672 - 513000);
  EXPECT_EQ(count_parameters(*resnet(50, 1.0)->make_column(0, 5)), 25557032 - 2049000);
  EXPECT_EQ(count_parameters(*resnet(101, 1.0)->make_column(0, 5)), 44549160 - 2049000);
}

TEST(ResNet, TorchvisionNames) {
  auto params18 = resnet(18, 0.25)->make_column(0, 5)->named_parameters();
  for (const char* name :
       {"conv1.weight", "bn1.weight", "bn1.bias", "layer1.0.conv1.weight", "layer1.1.bn2.bias",
        "layer2.0.downsample.0.weight", "layer2.0.downsample.1.weight", "layer4.1.conv2.weight"}) {
    EXPECT_TRUE(params18.contains(name)) << name;
  }
  EXPECT_FALSE(params18.contains("layer1.0.downsample.0.weight"));
  EXPECT_FALSE(params18.contains("layer1.0.conv3.weight"));
  auto column101 = resnet(101, 0.125)->make_column(0, 5);
  auto params101 = column101->named_parameters();
  for (const char* name : {"layer1.0.downsample.0.weight", "layer1.0.conv3.weight",
                           "layer3.22.bn3.bias", "layer4.2.conv2.weight"}) {
    EXPECT_TRUE(params101.contains(name)) << name;
  }
  EXPECT_FALSE(params101.contains("layer3.23.conv1.weight"));
  EXPECT_TRUE(column101->named_buffers().contains("layer2.3.bn1.running_mean"));
}

TEST(ResNet, PartialColumnHoldsOnlyItsStages) {
  auto params = resnet(18, 0.25)->make_column(2, 4)->named_parameters();
  EXPECT_TRUE(params.contains("layer2.0.conv1.weight"));
  EXPECT_TRUE(params.contains("layer3.1.conv2.weight"));
  EXPECT_FALSE(params.contains("conv1.weight"));
  EXPECT_FALSE(params.contains("layer1.0.conv1.weight"));
  EXPECT_FALSE(params.contains("layer4.0.conv1.weight"));
}

TEST(ResNet, StageChannelsAndStrides) {
  const std::vector<int64_t> strides8 = {4, 4, 8, 8, 8};
  const std::vector<int64_t> strides16 = {4, 4, 8, 16, 16};
  const std::vector<int64_t> basic = {64, 64, 128, 256, 512};
  const std::vector<int64_t> bottleneck = {64, 256, 512, 1024, 2048};
  const std::vector<std::string> names = {"stem", "layer1", "layer2", "layer3", "layer4"};
  for (int64_t depth : {18, 34, 50, 101}) {
    for (int64_t os : {8, 16}) {
      auto backbone = resnet(depth, 1.0, os);
      ASSERT_EQ(backbone->num_stages(), 5);
      for (int64_t s = 0; s < 5; ++s) {
        EXPECT_EQ(backbone->stages()[s].name, names[s]);
        EXPECT_EQ(backbone->stages()[s].channels, depth < 50 ? basic[s] : bottleneck[s]);
        EXPECT_EQ(backbone->stages()[s].stride, os == 8 ? strides8[s] : strides16[s]);
      }
    }
  }
  EXPECT_EQ(resnet(50, 0.25)->stages()[4].channels, 512);
}

// Every stage's output is ceil(input / stride), for both output strides.
TEST(ResNet, OutputSizesFollowStrides) {
  torch::NoGradGuard no_grad;
  for (int64_t depth : {18, 50}) {
    for (int64_t os : {8, 16}) {
      auto backbone = resnet(depth, 0.125, os);
      auto column = backbone->make_column(0, 5);
      column->eval();
      for (int64_t size : {33, 64}) {
        auto x = torch::randn({1, 3, size, size + 8});
        for (int64_t s = 0; s < 5; ++s) {
          x = column->forward_stage(s, x);
          const int64_t stride = backbone->stages()[s].stride;
          EXPECT_EQ(x.sizes(), (std::vector<int64_t>{1, backbone->stages()[s].channels,
                                                     (size + stride - 1) / stride,
                                                     (size + 8 + stride - 1) / stride}))
              << "resnet" << depth << " os " << os << " stage " << s << " input " << size;
        }
      }
    }
  }
}

TEST(ResNet, DilationFollowsTorchvision) {
  auto dilation_of = [](const torch::nn::Module& column, const std::string& name) {
    return column.named_modules()[name]->as<torch::nn::Conv2dImpl>()->options.dilation()->at(0);
  };
  auto os8 = resnet(50, 0.125, 8)->make_column(0, 5);
  EXPECT_EQ(dilation_of(*os8, "layer2.0.conv2"), 1);
  EXPECT_EQ(dilation_of(*os8, "layer3.0.conv2"), 1);  // the first block keeps the previous dilation
  EXPECT_EQ(dilation_of(*os8, "layer3.1.conv2"), 2);
  EXPECT_EQ(dilation_of(*os8, "layer4.0.conv2"), 2);
  EXPECT_EQ(dilation_of(*os8, "layer4.2.conv2"), 4);
  auto os16 = resnet(18, 0.125, 16)->make_column(0, 5);
  EXPECT_EQ(dilation_of(*os16, "layer3.1.conv1"), 1);
  EXPECT_EQ(dilation_of(*os16, "layer4.0.conv1"), 1);
  EXPECT_EQ(dilation_of(*os16, "layer4.1.conv2"), 2);
}

void randomise_batch_norms(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& child : module.modules()) {
    if (auto* bn = child->as<torch::nn::BatchNorm2dImpl>()) {
      bn->running_mean.uniform_(-0.5, 0.5);
      bn->running_var.uniform_(0.5, 2.0);
      bn->weight.uniform_(0.5, 1.5);
      bn->bias.uniform_(-0.5, 0.5);
    }
  }
}

torch::Tensor batch_norm(const torch::nn::Module& column, const std::string& name,
                         const torch::Tensor& x) {
  auto* bn = column.named_modules()[name]->as<torch::nn::BatchNorm2dImpl>();
  auto view = [](const torch::Tensor& t) { return t.view({1, -1, 1, 1}); };
  // torchvision's eps 1e-5.
  return (x - view(bn->running_mean)) / torch::sqrt(view(bn->running_var) + 1e-5) *
             view(bn->weight) +
         view(bn->bias);
}

torch::Tensor conv(const torch::nn::Module& column, const std::string& name, const torch::Tensor& x,
                   int64_t stride, int64_t padding, int64_t dilation = 1) {
  auto* layer = column.named_modules()[name]->as<torch::nn::Conv2dImpl>();
  return F::conv2d(x, layer->weight,
                   F::Conv2dFuncOptions().stride(stride).padding(padding).dilation(dilation));
}

TEST(ResNet, BasicBlockStageMatchesExplicitComputation) {
  // layer2 of resnet18: block 0 has stride 2 and a projection shortcut, block 1 is plain.
  auto column = resnet(18, 1.0 / 16)->make_column(2, 3);
  column->to(torch::kDouble);
  randomise_batch_norms(*column);
  column->eval();
  auto x = torch::randn({2, 4, 9, 8}, torch::kDouble);
  const auto& c = *column;
  auto y = torch::relu(batch_norm(c, "layer2.0.bn1", conv(c, "layer2.0.conv1", x, 2, 1)));
  y = batch_norm(c, "layer2.0.bn2", conv(c, "layer2.0.conv2", y, 1, 1));
  auto shortcut = batch_norm(c, "layer2.0.downsample.1", conv(c, "layer2.0.downsample.0", x, 2, 0));
  y = torch::relu(y + shortcut);
  auto z = torch::relu(batch_norm(c, "layer2.1.bn1", conv(c, "layer2.1.conv1", y, 1, 1)));
  z = torch::relu(batch_norm(c, "layer2.1.bn2", conv(c, "layer2.1.conv2", z, 1, 1)) + y);
  torch::NoGradGuard no_grad;
  auto actual = column->forward(x);
  EXPECT_EQ(actual.sizes(), (std::vector<int64_t>{2, 8, 5, 4}));
  EXPECT_TRUE(torch::allclose(actual, z, 1e-10, 1e-12));
}

torch::Tensor bottleneck(const torch::nn::Module& c, const std::string& prefix,
                         const torch::Tensor& x, int64_t stride, int64_t dilation,
                         bool projection) {
  auto y = torch::relu(batch_norm(c, prefix + ".bn1", conv(c, prefix + ".conv1", x, 1, 0)));
  y = torch::relu(
      batch_norm(c, prefix + ".bn2", conv(c, prefix + ".conv2", y, stride, dilation, dilation)));
  y = batch_norm(c, prefix + ".bn3", conv(c, prefix + ".conv3", y, 1, 0));
  auto shortcut = projection ? batch_norm(c, prefix + ".downsample.1",
                                          conv(c, prefix + ".downsample.0", x, stride, 0))
                             : x;
  return torch::relu(y + shortcut);
}

TEST(ResNet, BottleneckStemAndDilatedStageMatchExplicitComputation) {
  auto column = resnet(50, 1.0 / 16, 8)->make_column(0, 5);
  column->to(torch::kDouble);
  randomise_batch_norms(*column);
  column->eval();
  const auto& c = *column;
  auto x = torch::randn({1, 3, 19, 21}, torch::kDouble);
  auto stem = torch::relu(batch_norm(c, "bn1", conv(c, "conv1", x, 2, 3)));
  stem = F::max_pool2d(stem, F::MaxPool2dFuncOptions(3).stride(2).padding(1));
  // layer4 at output stride 8: block 0 keeps layer3's dilation 2 and projects
  // 64 -> 128 channels without striding; blocks 1 and 2 use dilation 4.
  auto y = torch::randn({1, 64, 5, 6}, torch::kDouble);
  auto expected = bottleneck(c, "layer4.0", y, 1, 2, true);
  expected = bottleneck(c, "layer4.1", expected, 1, 4, false);
  expected = bottleneck(c, "layer4.2", expected, 1, 4, false);
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(column->forward_stage(0, x), stem, 1e-10, 1e-12));
  auto actual = column->forward_stage(4, y);
  EXPECT_EQ(actual.sizes(), (std::vector<int64_t>{1, 128, 5, 6}));
  EXPECT_TRUE(torch::allclose(actual, expected, 1e-10, 1e-12));
}

TEST(ResNet, RejectsBadOutputStride) { EXPECT_THROW(resnet(18, 1.0, 32), Error); }

}  // namespace
}  // namespace nddr
