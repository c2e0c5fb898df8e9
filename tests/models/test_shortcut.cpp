#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>
#include <string>

#include "nddr/models/shortcut.h"
#include "nddr/util/error.h"
#include "support/gradient_check.h"

namespace nddr {
namespace {

namespace F = torch::nn::functional;

torch::Tensor resize(const torch::Tensor& x, int64_t h, int64_t w) {
  return F::interpolate(x, F::InterpolateFuncOptions()
                               .size(std::vector<int64_t>{h, w})
                               .mode(torch::kBilinear)
                               .align_corners(false));
}

std::vector<torch::Tensor> stage_maps() {
  return {torch::randn({2, 2, 9, 8}, torch::kDouble), torch::randn({2, 3, 5, 4}, torch::kDouble),
          torch::randn({2, 4, 3, 2}, torch::kDouble)};
}

TEST(NddrShortcut, VggSizes) {
  NddrShortcut shortcut(StageMergeOptions({64, 128, 256, 512, 512}, 512));
  EXPECT_EQ(shortcut->conv->weight.sizes(), (std::vector<int64_t>{512, 1472, 1, 1}));
  EXPECT_EQ(shortcut->named_parameters().size(), 3u);
  EXPECT_EQ(shortcut->bn->options.eps(), 1e-3);
}

TEST(NddrShortcut, MatchesExplicitComputation) {
  NddrShortcut shortcut(StageMergeOptions({2, 3, 4}, 4));
  shortcut->to(torch::kDouble);
  {
    torch::NoGradGuard no_grad;
    shortcut->bn->running_mean.uniform_(-0.5, 0.5);
    shortcut->bn->running_var.uniform_(0.5, 2.0);
    shortcut->bn->bias.uniform_(-0.5, 0.5);
  }
  shortcut->eval();
  auto maps = stage_maps();
  auto merged = torch::cat({resize(maps[0], 3, 2), resize(maps[1], 3, 2), maps[2]}, 1);
  auto y = F::conv2d(merged, shortcut->conv->weight);
  auto& bn = shortcut->bn;
  y = (y - bn->running_mean.view({1, -1, 1, 1})) /
          torch::sqrt(bn->running_var.view({1, -1, 1, 1}) + 1e-3) * bn->weight.view({1, -1, 1, 1}) +
      bn->bias.view({1, -1, 1, 1});
  torch::NoGradGuard no_grad;
  auto actual = shortcut->forward(maps);
  EXPECT_EQ(actual.sizes(), (std::vector<int64_t>{2, 4, 3, 2}));
  EXPECT_TRUE(torch::allclose(actual, torch::relu(y), 1e-10, 1e-12));
}

TEST(NddrShortcut, GradientsMatchFiniteDifferences) {
  NddrShortcut shortcut(StageMergeOptions({2, 3, 4}, 3));
  shortcut->to(torch::kDouble);
  auto maps = stage_maps();
  for (auto& map : maps) map.requires_grad_(true);
  auto probe = torch::randn({2, 3, 3, 2}, torch::kDouble);
  // Training-mode BN: the gradient flows through the batch statistics too.
  auto loss = [&] { return (shortcut->forward(maps) * probe).sum(); };
  testing::expect_gradients_match(loss, {maps[0], maps[1], shortcut->conv->weight},
                                  {"stage0", "stage1", "conv.weight"}, 1e-6, 1e-5);
}

TEST(NddrShortcut, RejectsEmptyStages) {
  EXPECT_THROW(NddrShortcut(StageMergeOptions({}, 4)), Error);
  EXPECT_THROW(NddrShortcut(StageMergeOptions({2, 0}, 4)), Error);
}

TEST(SluiceOutput, StartsAsTheLastStage) {
  SluiceOutput output(StageMergeOptions({2, 3, 4}, 4));
  output->to(torch::kDouble);
  auto maps = stage_maps();
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(output->forward(maps), maps[2], 1e-12, 1e-12));
  std::set<std::string> names;
  for (const auto& item : output->named_parameters()) names.insert(item.key());
  EXPECT_EQ(names, (std::set<std::string>{"mixing.beta", "conv.weight"}));
}

TEST(SluiceOutput, MatchesExplicitComputation) {
  SluiceOutput output(StageMergeOptions({2, 3, 4}, 4));
  output->to(torch::kDouble);
  {
    torch::NoGradGuard no_grad;
    output->mixing->beta.uniform_(0.5, 1.5);
    output->conv->weight.normal_();
  }
  auto maps = stage_maps();
  const auto& beta = output->mixing->beta;
  auto merged = torch::cat(
      {beta[0] * resize(maps[0], 3, 2), beta[1] * resize(maps[1], 3, 2), beta[2] * maps[2]}, 1);
  auto expected = F::conv2d(merged, output->conv->weight);
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(output->forward(maps), expected, 1e-10, 1e-12));
}

TEST(SluiceOutput, GradientsMatchFiniteDifferences) {
  SluiceOutput output(StageMergeOptions({2, 3, 4}, 4));
  output->to(torch::kDouble);
  auto maps = stage_maps();
  maps[0].requires_grad_(true);
  auto probe = torch::randn({2, 4, 3, 2}, torch::kDouble);
  auto loss = [&] { return (output->forward(maps) * probe).sum(); };
  testing::expect_gradients_match(loss, {maps[0], output->mixing->beta, output->conv->weight},
                                  {"stage0", "mixing.beta", "conv.weight"});
}

TEST(SluiceOutput, RequiresLastStageChannelsOut) {
  EXPECT_THROW(SluiceOutput(StageMergeOptions({2, 3}, 4)), Error);
}

}  // namespace
}  // namespace nddr
