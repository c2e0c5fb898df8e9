#include "nddr/layers/nddr_layer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "nddr/util/error.h"
#include "support/gradient_check.h"

namespace nddr {
namespace {

std::vector<torch::Tensor> random_features(int64_t tasks, int64_t batch, int64_t channels,
                                           int64_t height, int64_t width,
                                           torch::Dtype dtype = torch::kFloat) {
  std::vector<torch::Tensor> features;
  for (int64_t k = 0; k < tasks; ++k) {
    features.push_back(torch::randn({batch, channels, height, width}, dtype));
  }
  return features;
}

// Random 1x1 weights and BN affine parameters, so no test relies on the init.
NddrLayer random_layer(NddrLayerOptions options) {
  NddrLayer layer(options);
  layer->to(torch::kDouble);
  torch::NoGradGuard no_grad;
  for (auto& parameter : layer->parameters()) parameter.copy_(torch::randn_like(parameter));
  return layer;
}

// Task k's weight as a [C, K*C] matrix.
torch::Tensor weight_matrix(NddrLayer& layer, int64_t k) {
  const auto& weight = layer->conv[k]->as<torch::nn::Conv2d>()->weight;
  return weight.view({weight.size(0), weight.size(1)});
}

// [N, C, H, W] <-> [N*H*W, C]: one row per pixel.
torch::Tensor to_rows(const torch::Tensor& x) {
  return x.permute({0, 2, 3, 1}).reshape({-1, x.size(1)});
}
torch::Tensor from_rows(const torch::Tensor& rows, const torch::IntArrayRef shape) {
  return rows.view({shape[0], shape[2], shape[3], shape[1]}).permute({0, 3, 1, 2});
}

TEST(NddrLayer, OutputShapesForTwoAndThreeTasks) {
  for (const int64_t tasks : {2, 3}) {
    NddrLayer layer(tasks, 5);
    const auto outputs = layer->forward(random_features(tasks, 2, 5, 7, 6));
    ASSERT_EQ(static_cast<int64_t>(outputs.size()), tasks);
    for (const auto& out : outputs) EXPECT_EQ(out.sizes(), torch::IntArrayRef({2, 5, 7, 6}));
  }
}

TEST(NddrLayer, DiagonalInitPutsAlphaOnOwnBlockAndBetaElsewhere) {
  const int64_t tasks = 3;
  const int64_t channels = 4;
  const std::vector<std::pair<double, double>> pairs = {{0.9, 0.1}, {1.0, 0.0}, {0.5, 0.5},
                                                        {0.1, 0.9}, {0.0, 1.0}, {0.7, -0.2}};
  for (const auto& [alpha, beta] : pairs) {
    NddrLayer layer(NddrLayerOptions(tasks, channels).alpha(alpha).beta(beta));
    for (int64_t k = 0; k < tasks; ++k) {
      const auto weight = layer->conv[k]->as<torch::nn::Conv2d>()->weight;
      ASSERT_EQ(weight.sizes(), torch::IntArrayRef({channels, tasks * channels, 1, 1}));
      for (int64_t j = 0; j < tasks; ++j) {
        const auto block =
            weight.view({channels, tasks * channels}).narrow(1, j * channels, channels);
        const auto expected = torch::eye(channels) * (j == k ? alpha : beta);
        EXPECT_TRUE(torch::equal(block, expected))
            << "alpha " << alpha << " beta " << beta << " task " << k << " block " << j << "\n"
            << block;
      }
    }
  }
}

TEST(NddrLayer, DiagonalInitWithIdentityBatchNormMixesInputsLinearly) {
  // In eval mode with fresh BN stats and no ReLU, out_k = alpha x_k + beta sum_{j!=k} x_j
  // (up to BN's eps scaling), which ties the init to the forward's block order.
  NddrLayer layer(NddrLayerOptions(3, 4).alpha(0.8).beta(0.3).relu(false));
  layer->eval();
  const auto features = random_features(3, 2, 4, 3, 3);
  const auto outputs = layer->forward(features);
  const double bn_scale = 1.0 / std::sqrt(1.0 + 1e-3);
  for (int64_t k = 0; k < 3; ++k) {
    auto expected = torch::zeros_like(features[0]);
    for (int64_t j = 0; j < 3; ++j) expected += features[j] * (j == k ? 0.8 : 0.3);
    EXPECT_TRUE(torch::allclose(outputs[k], expected * bn_scale, 1e-5, 1e-6)) << "task " << k;
  }
}

TEST(NddrLayer, XavierAndMsraInitsHaveTheirScale) {
  const int64_t tasks = 2;
  const int64_t channels = 64;
  const double fan_in = tasks * channels;
  NddrLayer xavier(NddrLayerOptions(tasks, channels).init(FusionInit::kXavier));
  NddrLayer msra(NddrLayerOptions(tasks, channels).init(FusionInit::kMsra));
  const double bound = std::sqrt(6.0 / (fan_in + channels));
  for (int64_t k = 0; k < tasks; ++k) {
    const auto x = xavier->conv[k]->as<torch::nn::Conv2d>()->weight;
    EXPECT_LE(x.abs().max().item<double>(), bound);
    EXPECT_NEAR(x.std().item<double>(), bound / std::sqrt(3.0), 0.05 * bound);
    const auto m = msra->conv[k]->as<torch::nn::Conv2d>()->weight;
    const double std = std::sqrt(2.0 / fan_in);
    EXPECT_NEAR(m.std().item<double>(), std, 0.05 * std);
    EXPECT_NEAR(m.mean().item<double>(), 0.0, 0.05 * std);
  }
  EXPECT_FALSE(torch::equal(xavier->conv[0]->as<torch::nn::Conv2d>()->weight,
                            xavier->conv[1]->as<torch::nn::Conv2d>()->weight));
}

TEST(NddrLayer, ResetParametersRestoresTheInit) {
  auto layer = random_layer(NddrLayerOptions(2, 3).alpha(0.6).beta(0.2));
  layer->reset_parameters();
  const auto weight = weight_matrix(layer, 1);
  EXPECT_TRUE(torch::equal(weight.narrow(1, 0, 3), torch::eye(3, torch::kDouble) * 0.2));
  EXPECT_TRUE(torch::equal(weight.narrow(1, 3, 3), torch::eye(3, torch::kDouble) * 0.6));
  const auto& norm = layer->bn[0]->as<torch::nn::BatchNorm2d>();
  EXPECT_TRUE(torch::equal(norm->weight, torch::ones(3, torch::kDouble)));
  EXPECT_TRUE(torch::equal(norm->bias, torch::zeros(3, torch::kDouble)));
}

TEST(NddrLayer, ForwardMatchesExplicitConcatMatmulBatchNormRelu) {
  torch::manual_seed(1);
  const int64_t tasks = 3;
  const int64_t channels = 4;
  const double momentum = 0.05;
  const double eps = 1e-3;
  auto layer = random_layer(NddrLayerOptions(tasks, channels));
  const auto features = random_features(tasks, 2, channels, 3, 5, torch::kDouble);
  const auto rows = to_rows(torch::cat(features, 1));  // [N*H*W, K*C]

  // Train mode: BN normalises with the batch's biased variance and moves the
  // running stats towards the batch's mean and unbiased variance.
  const auto outputs = layer->forward(features);
  for (int64_t k = 0; k < tasks; ++k) {
    const auto& norm = layer->bn[k]->as<torch::nn::BatchNorm2d>();
    const auto y = rows.matmul(weight_matrix(layer, k).t());
    const auto mean = y.mean(0);
    const auto variance = y.var(0, /*unbiased=*/false);
    const auto normalised = (y - mean) / torch::sqrt(variance + eps) * norm->weight + norm->bias;
    const auto expected = from_rows(torch::relu(normalised), features[0].sizes());
    EXPECT_TRUE(torch::allclose(outputs[k], expected, 1e-10, 1e-10)) << "task " << k;
    EXPECT_TRUE(torch::allclose(norm->running_mean, momentum * mean, 1e-12, 1e-12));
    EXPECT_TRUE(torch::allclose(
        norm->running_var, (1 - momentum) + momentum * y.var(0, /*unbiased=*/true), 1e-12, 1e-12));
  }

  // Eval mode: BN uses the running stats.
  {
    torch::NoGradGuard no_grad;
    for (const auto& module : *layer->bn) {
      const auto& norm = module->as<torch::nn::BatchNorm2d>();
      norm->running_mean.copy_(torch::randn_like(norm->running_mean));
      norm->running_var.copy_(torch::rand_like(norm->running_var) + 0.5);
    }
  }
  layer->eval();
  const auto eval_outputs = layer->forward(features);
  for (int64_t k = 0; k < tasks; ++k) {
    const auto& norm = layer->bn[k]->as<torch::nn::BatchNorm2d>();
    const auto y = rows.matmul(weight_matrix(layer, k).t());
    const auto normalised =
        (y - norm->running_mean) / torch::sqrt(norm->running_var + eps) * norm->weight + norm->bias;
    const auto expected = from_rows(torch::relu(normalised), features[0].sizes());
    EXPECT_TRUE(torch::allclose(eval_outputs[k], expected, 1e-10, 1e-10)) << "task " << k;
  }
}

TEST(NddrLayer, WithoutBatchNormAndReluIsThePlainReduction) {
  torch::manual_seed(2);
  auto layer = random_layer(NddrLayerOptions(2, 3).batch_norm(false).relu(false));
  EXPECT_EQ(layer->bn->size(), 0u);
  const auto features = random_features(2, 2, 3, 4, 4, torch::kDouble);
  const auto rows = to_rows(torch::cat(features, 1));
  const auto outputs = layer->forward(features);
  for (int64_t k = 0; k < 2; ++k) {
    const auto expected = from_rows(rows.matmul(weight_matrix(layer, k).t()), features[0].sizes());
    EXPECT_TRUE(torch::allclose(outputs[k], expected, 1e-12, 1e-12)) << "task " << k;
    EXPECT_LT(outputs[k].min().item<double>(), 0.0) << "ReLU must be off";
  }
}

TEST(NddrLayer, BatchNormWithoutReluKeepsNegativeValues) {
  auto layer = random_layer(NddrLayerOptions(2, 3).relu(false));
  const auto outputs = layer->forward(random_features(2, 2, 3, 4, 4, torch::kDouble));
  for (const auto& out : outputs) EXPECT_LT(out.min().item<double>(), 0.0);
}

TEST(NddrLayer, GradientsMatchFiniteDifferences) {
  torch::manual_seed(3);
  for (const bool batch_norm : {true, false}) {
    auto layer = random_layer(NddrLayerOptions(2, 2).batch_norm(batch_norm));
    auto features = random_features(2, 2, 2, 3, 2, torch::kDouble);
    std::vector<torch::Tensor> wrt;
    std::vector<std::string> names;
    for (auto& feature : features) {
      feature.requires_grad_(true);
      wrt.push_back(feature);
      names.push_back("input " + std::to_string(names.size()));
    }
    for (const auto& item : layer->named_parameters()) {
      wrt.push_back(item.value());
      names.push_back(item.key());
    }
    // Random output weights: a plain sum after BN would have zero input gradient.
    std::vector<torch::Tensor> projections;
    for (int64_t k = 0; k < 2; ++k) projections.push_back(torch::randn_like(features[0]));
    const auto loss = [&] {
      const auto outputs = layer->forward(features);
      auto total = torch::zeros({}, torch::kDouble);
      for (int64_t k = 0; k < 2; ++k) total = total + (outputs[k] * projections[k]).sum();
      return total;
    };
    SCOPED_TRACE(batch_norm ? "with batch norm" : "without batch norm");
    testing::expect_gradients_match(loss, wrt, names);
  }
}

TEST(NddrLayer, SaveLoadRoundTripGivesIdenticalOutputs) {
  torch::manual_seed(4);
  NddrLayer layer(NddrLayerOptions(2, 3).init(FusionInit::kXavier));
  const auto features = random_features(2, 2, 3, 4, 4);
  layer->forward(features);  // moves the BN running stats away from their init
  layer->eval();
  const auto path = std::filesystem::temp_directory_path() / "nddr_layer_round_trip.pt";
  torch::save(layer, path.string());
  NddrLayer loaded(NddrLayerOptions(2, 3));
  torch::load(loaded, path.string());
  std::filesystem::remove(path);
  loaded->eval();
  const auto expected = layer->forward(features);
  const auto actual = loaded->forward(features);
  for (size_t k = 0; k < expected.size(); ++k) EXPECT_TRUE(torch::equal(actual[k], expected[k]));
}

TEST(NddrLayer, CloneCopiesParametersIndependently) {
  NddrLayer layer(2, 3);
  auto copy = std::dynamic_pointer_cast<NddrLayerImpl>(layer->clone());
  ASSERT_TRUE(copy);
  const auto features = random_features(2, 2, 3, 4, 4);
  layer->eval();
  copy->eval();
  EXPECT_TRUE(torch::equal(copy->forward(features)[1], layer->forward(features)[1]));
  {
    torch::NoGradGuard no_grad;
    copy->conv[0]->as<torch::nn::Conv2d>()->weight.add_(1.0);
  }
  EXPECT_FALSE(torch::equal(copy->conv[0]->as<torch::nn::Conv2d>()->weight,
                            layer->conv[0]->as<torch::nn::Conv2d>()->weight));
}

TEST(NddrLayer, MismatchedInputsThrowErrorNamingShapes) {
  NddrLayer layer(2, 4);
  const auto expect_error = [&](const std::vector<torch::Tensor>& features,
                                const std::vector<std::string>& fragments) {
    try {
      layer->forward(features);
      ADD_FAILURE() << "no error for " << fragments.front();
    } catch (const Error& error) {
      for (const auto& fragment : fragments) {
        EXPECT_NE(std::string(error.what()).find(fragment), std::string::npos)
            << error.what() << " lacks " << fragment;
      }
    }
  };
  expect_error({torch::zeros({2, 4, 5, 5}), torch::zeros({2, 3, 5, 5})},
               {"NddrLayer", "[2, 4, 5, 5]", "[2, 3, 5, 5]"});
  expect_error({torch::zeros({2, 4, 5, 5}), torch::zeros({2, 4, 6, 5})},
               {"[2, 4, 5, 5]", "[2, 4, 6, 5]"});
  expect_error({torch::zeros({2, 3, 5, 5}), torch::zeros({2, 3, 5, 5})},
               {"[2, 3, 5, 5]", "[N,4,H,W]"});
  expect_error({torch::zeros({2, 4, 5, 5})}, {"expects 2", "[2, 4, 5, 5]"});
  expect_error({torch::zeros({4, 5, 5}), torch::zeros({4, 5, 5})}, {"[4, 5, 5]"});
}

TEST(NddrLayer, InvalidOptionsThrowError) {
  EXPECT_THROW(NddrLayer(1, 4), Error);
  EXPECT_THROW(NddrLayer(2, 0), Error);
}

TEST(NddrLayer, ParameterNamesAreAsDocumented) {
  const auto names = [](const NddrLayer& layer) {
    std::set<std::string> result;
    for (const auto& item : layer->named_parameters()) result.insert(item.key());
    return result;
  };
  EXPECT_EQ(names(NddrLayer(2, 3)),
            (std::set<std::string>{"conv.0.weight", "conv.1.weight", "bn.0.weight", "bn.0.bias",
                                   "bn.1.weight", "bn.1.bias"}));
  EXPECT_EQ(names(NddrLayer(NddrLayerOptions(3, 3).batch_norm(false))),
            (std::set<std::string>{"conv.0.weight", "conv.1.weight", "conv.2.weight"}));
  std::set<std::string> buffers;
  for (const auto& item : NddrLayer(2, 3)->named_buffers()) buffers.insert(item.key());
  EXPECT_EQ(buffers.count("bn.1.running_mean"), 1u);
  EXPECT_EQ(buffers.count("bn.1.running_var"), 1u);
}

}  // namespace
}  // namespace nddr
