#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>
#include <string>

#include "nddr/backbones/backbone.h"
#include "nddr/util/error.h"

namespace nddr {
namespace {

namespace F = torch::nn::functional;

std::unique_ptr<Backbone> vgg(double width) {
  BackboneOptions options;
  options.name = "vgg16_largefov";
  options.width = width;
  return make_backbone(options);
}

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t total = 0;
  for (const auto& p : module.parameters()) total += p.numel();
  return total;
}

// Gives every BatchNorm non-trivial statistics and affine parameters, so an
// explicit computation that skipped BN would not match.
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

torch::Tensor conv_bn_relu(const torch::nn::Module& features, int64_t index, torch::Tensor x,
                           int64_t dilation) {
  auto conv = features.named_children()[std::to_string(index)]->as<torch::nn::Conv2dImpl>();
  auto bn = features.named_children()[std::to_string(index + 1)]->as<torch::nn::BatchNorm2dImpl>();
  EXPECT_NE(conv, nullptr);
  EXPECT_NE(bn, nullptr);
  x = F::conv2d(x, conv->weight, F::Conv2dFuncOptions().padding(dilation).dilation(dilation));
  // BN in eval mode: eps 1e-3 (the paper's), written out.
  x = (x - bn->running_mean.view({1, -1, 1, 1})) /
          torch::sqrt(bn->running_var.view({1, -1, 1, 1}) + 1e-3) * bn->weight.view({1, -1, 1, 1}) +
      bn->bias.view({1, -1, 1, 1});
  return torch::relu(x);
}

TEST(Vgg, StagesChannelsAndStrides) {
  auto full = vgg(1.0);
  ASSERT_EQ(full->num_stages(), 5);
  const std::vector<int64_t> channels = {64, 128, 256, 512, 512};
  const std::vector<int64_t> strides = {2, 4, 8, 8, 8};
  for (int64_t s = 0; s < 5; ++s) {
    EXPECT_EQ(full->stages()[s].name, "pool" + std::to_string(s + 1));
    EXPECT_EQ(full->stages()[s].channels, channels[s]);
    EXPECT_EQ(full->stages()[s].stride, strides[s]);
  }
  auto eighth = vgg(0.125);
  for (int64_t s = 0; s < 5; ++s) EXPECT_EQ(eighth->stages()[s].channels, channels[s] / 8);
  EXPECT_EQ(vgg(1e-3)->stages()[0].channels, 1);
}

TEST(Vgg, TorchvisionParameterNamesAndCount) {
  auto column = vgg(1.0)->make_column(0, 5);
  std::set<std::string> expected;
  for (int64_t index : {0, 3, 7, 10, 14, 17, 20, 24, 27, 30, 34, 37, 40}) {
    expected.insert("features." + std::to_string(index) + ".weight");
    expected.insert("features." + std::to_string(index + 1) + ".weight");
    expected.insert("features." + std::to_string(index + 1) + ".bias");
  }
  std::set<std::string> names;
  for (const auto& item : column->named_parameters()) names.insert(item.key());
  EXPECT_EQ(names, expected);
  // torchvision's vgg16_bn features hold 14,723,136 parameters, 4,224 of them
  // conv biases that a conv followed by BN does not have here.
  EXPECT_EQ(count_parameters(*column), 14723136 - 4224);
  EXPECT_TRUE(column->named_buffers().contains("features.41.running_var"));
}

TEST(Vgg, PartialColumnKeepsFeatureIndices) {
  auto column = vgg(0.125)->make_column(3, 5);
  auto params = column->named_parameters();
  EXPECT_TRUE(params.contains("features.24.weight"));
  EXPECT_TRUE(params.contains("features.41.bias"));
  EXPECT_FALSE(params.contains("features.0.weight"));
  EXPECT_EQ(params["features.24.weight"].size(1), 32);  // pool3's channels at width 1/8
}

TEST(Vgg, LargeFovOutputIs41For321) {
  torch::NoGradGuard no_grad;
  auto column = vgg(0.125)->make_column(0, 5);
  column->eval();
  auto x = torch::randn({1, 3, 321, 321});
  const std::vector<int64_t> sizes = {161, 81, 41, 41, 41};
  for (int64_t s = 0; s < 5; ++s) {
    x = column->forward_stage(s, x);
    EXPECT_EQ(x.sizes(), (std::vector<int64_t>{1, s < 3 ? 8 << s : 64, sizes[s], sizes[s]}));
  }
}

TEST(Vgg, EvenSizesHalveToCeil) {
  torch::NoGradGuard no_grad;
  auto column = vgg(1.0 / 16)->make_column(0, 5);
  column->eval();
  EXPECT_EQ(column->forward(torch::randn({2, 3, 64, 64})).sizes(),
            (std::vector<int64_t>{2, 32, 8, 8}));
  EXPECT_EQ(column->forward(torch::randn({1, 3, 66, 34})).sizes(),
            (std::vector<int64_t>{1, 32, 9, 5}));
}

TEST(Vgg, FullWidthShapesOnSmallInput) {
  torch::NoGradGuard no_grad;
  auto column = vgg(1.0)->make_column(0, 5);
  column->eval();
  EXPECT_EQ(column->forward(torch::randn({1, 3, 17, 17})).sizes(),
            (std::vector<int64_t>{1, 512, 3, 3}));
}

TEST(Vgg, Pool5StageMatchesExplicitComputation) {
  auto column = vgg(1.0 / 64)->make_column(4, 5);
  column->to(torch::kDouble);
  randomise_batch_norms(*column);
  column->eval();
  auto x = torch::randn({2, 8, 9, 7}, torch::kDouble);
  auto features = column->named_children()["features"];
  auto expected = x;
  for (int64_t index : {34, 37, 40}) expected = conv_bn_relu(*features, index, expected, 2);
  expected = F::max_pool2d(expected, F::MaxPool2dFuncOptions(3).stride(1).padding(1));
  expected = F::avg_pool2d(
      expected, F::AvgPool2dFuncOptions(3).stride(1).padding(1).count_include_pad(false));
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(column->forward_stage(4, x), expected, 1e-10, 1e-12));
}

TEST(Vgg, Pool1StageMatchesExplicitComputation) {
  auto column = vgg(1.0 / 16)->make_column(0, 1);
  column->to(torch::kDouble);
  randomise_batch_norms(*column);
  column->eval();
  auto x = torch::randn({1, 3, 10, 11}, torch::kDouble);
  auto features = column->named_children()["features"];
  auto expected = conv_bn_relu(*features, 3, conv_bn_relu(*features, 0, x, 1), 1);
  expected = F::max_pool2d(expected, F::MaxPool2dFuncOptions(3).stride(2).padding(1));
  torch::NoGradGuard no_grad;
  auto actual = column->forward(x);
  EXPECT_EQ(actual.sizes(), (std::vector<int64_t>{1, 4, 5, 6}));
  EXPECT_TRUE(torch::allclose(actual, expected, 1e-10, 1e-12));
}

TEST(Vgg, SplitColumnsEqualFullColumnWithSameWeights) {
  auto backbone = vgg(1.0 / 16);
  auto full = backbone->make_column(0, 5);
  auto head = backbone->make_column(0, 2);
  auto tail = backbone->make_column(2, 5);
  {
    torch::NoGradGuard no_grad;
    auto source = full->named_parameters();
    for (auto* part : {head.get(), tail.get()}) {
      for (auto& item : part->named_parameters()) item.value().copy_(source[item.key()]);
    }
  }
  full->eval();
  head->eval();
  tail->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::randn({1, 3, 20, 20});
  EXPECT_TRUE(torch::allclose(full->forward(x), tail->forward(head->forward(x))));
}

// Dilation of every 3x3 conv in a column, in order.
std::vector<int64_t> conv_dilations(torch::nn::Module& column) {
  std::vector<int64_t> dilations;
  for (auto& child : column.modules(/*include_self=*/false)) {
    if (auto* conv = child->as<torch::nn::Conv2dImpl>()) {
      dilations.push_back(conv->options.dilation()->at(0));
    }
  }
  return dilations;
}

TEST(Vgg, SmallerOutputStridesTradePoolingForDilation) {
  struct Case {
    int64_t output_stride;
    std::vector<int64_t> strides;
    std::vector<int64_t> stage_dilations;  // of each stage's convs
    int64_t logits_for_32;
  };
  const std::vector<Case> cases = {{8, {2, 4, 8, 8, 8}, {1, 1, 1, 1, 2}, 4},
                                   {4, {2, 4, 4, 4, 4}, {1, 1, 1, 2, 4}, 8},
                                   {2, {2, 2, 2, 2, 2}, {1, 1, 2, 4, 8}, 16}};
  const std::vector<int64_t> convs_per_stage = {2, 2, 3, 3, 3};
  const auto reference_names = vgg(0.125)->make_column(0, 5)->named_parameters().keys();
  for (const auto& c : cases) {
    BackboneOptions options;
    options.width = 0.125;
    options.output_stride = c.output_stride;
    auto backbone = make_backbone(options);
    std::vector<int64_t> expected_dilations;
    for (int64_t s = 0; s < 5; ++s) {
      EXPECT_EQ(backbone->stages()[s].stride, c.strides[s]) << "os " << c.output_stride;
      expected_dilations.insert(expected_dilations.end(), convs_per_stage[s], c.stage_dilations[s]);
    }
    auto column = backbone->make_column(0, 5);
    EXPECT_EQ(conv_dilations(*column), expected_dilations) << "os " << c.output_stride;
    // Same parameter names at every stride: weights load into any of them.
    EXPECT_EQ(column->named_parameters().keys(), reference_names);
    torch::NoGradGuard no_grad;
    column->eval();
    auto out = column->forward(torch::randn({1, 3, 32, 32}));
    EXPECT_EQ(out.sizes(), (std::vector<int64_t>{1, 64, c.logits_for_32, c.logits_for_32}));
  }
}

TEST(Vgg, RejectsUnsupportedOutputStrides) {
  for (int64_t os : {1, 3, 16}) {
    BackboneOptions options;
    options.output_stride = os;
    try {
      make_backbone(options);
      ADD_FAILURE() << "output_stride " << os << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(std::to_string(os)), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace nddr
