#include "nddr/layers/stage_mixing.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "nddr/util/error.h"
#include "support/gradient_check.h"

namespace nddr {
namespace {

TEST(StageMixing, ConcatenatesStagesAtTheLastStagesSize) {
  StageMixing mix(3);
  const auto out = mix->forward(
      {torch::randn({2, 3, 16, 12}), torch::randn({2, 5, 8, 6}), torch::randn({2, 4, 4, 3})});
  EXPECT_EQ(out.sizes(), torch::IntArrayRef({2, 3 + 5 + 4, 4, 3}));
}

TEST(StageMixing, BetaStartsAtOneAndIsTheOnlyParameter) {
  StageMixing mix(4);
  const auto parameters = mix->named_parameters();
  ASSERT_EQ(parameters.size(), 1u);
  EXPECT_EQ(parameters.begin()->key(), "beta");
  EXPECT_TRUE(torch::equal(mix->beta, torch::ones(4)));
  {
    torch::NoGradGuard no_grad;
    mix->beta.fill_(3.0);
  }
  mix->reset_parameters();
  EXPECT_TRUE(torch::equal(mix->beta, torch::ones(4)));
}

TEST(StageMixing, ForwardScalesEachStageAndResizesBilinearly) {
  torch::manual_seed(7);
  StageMixing mix(3);
  mix->to(torch::kDouble);
  {
    torch::NoGradGuard no_grad;
    mix->beta.copy_(torch::tensor({0.5, -2.0, 3.0}, torch::kDouble));
  }
  const auto first = torch::randn({2, 2, 8, 6}, torch::kDouble);
  const auto second = torch::randn({2, 3, 4, 3}, torch::kDouble);
  const auto last = torch::randn({2, 1, 4, 3}, torch::kDouble);
  const auto out = mix->forward({first, second, last});
  // Halving with half-pixel centres samples midway between pixel pairs: a 2x2 mean.
  const auto expected =
      torch::cat({0.5 * torch::avg_pool2d(first, 2), -2.0 * second, 3.0 * last}, 1);
  EXPECT_TRUE(torch::allclose(out, expected, 1e-12, 1e-12));
}

TEST(StageMixing, AlignCornersSamplesTheCornerPixels) {
  StageMixing mix(StageMixingOptions(2).align_corners(true));
  mix->to(torch::kDouble);
  const auto first = torch::randn({1, 2, 5, 9}, torch::kDouble);
  const auto last = torch::randn({1, 1, 3, 5}, torch::kDouble);
  const auto out = mix->forward({first, last});
  // 5 -> 3 and 9 -> 5 with aligned corners land exactly on every other pixel.
  const auto expected =
      first.index({torch::indexing::Slice(), torch::indexing::Slice(),
                   torch::indexing::Slice(0, 5, 2), torch::indexing::Slice(0, 9, 2)});
  EXPECT_TRUE(torch::allclose(out.narrow(1, 0, 2), expected, 1e-12, 1e-12));
  EXPECT_TRUE(torch::equal(out.narrow(1, 2, 1), last));
}

TEST(StageMixing, GradientsMatchFiniteDifferences) {
  torch::manual_seed(8);
  StageMixing mix(2);
  mix->to(torch::kDouble);
  {
    torch::NoGradGuard no_grad;
    mix->beta.copy_(torch::randn({2}, torch::kDouble));
  }
  auto first = torch::randn({1, 2, 5, 4}, torch::kDouble).requires_grad_(true);
  auto last = torch::randn({1, 1, 3, 2}, torch::kDouble).requires_grad_(true);
  const auto projection = torch::randn({1, 3, 3, 2}, torch::kDouble);
  const auto loss = [&] { return (mix->forward({first, last}) * projection).sum(); };
  testing::expect_gradients_match(loss, {first, last, mix->beta}, {"first", "last", "beta"});
}

TEST(StageMixing, SaveLoadRoundTripGivesIdenticalOutputs) {
  StageMixing mix(2);
  {
    torch::NoGradGuard no_grad;
    mix->beta.copy_(torch::randn({2}));
  }
  const auto path = std::filesystem::temp_directory_path() / "stage_mixing_round_trip.pt";
  torch::save(mix, path.string());
  StageMixing loaded(2);
  torch::load(loaded, path.string());
  std::filesystem::remove(path);
  const std::vector<torch::Tensor> stages = {torch::randn({1, 2, 6, 6}),
                                             torch::randn({1, 3, 3, 3})};
  EXPECT_TRUE(torch::equal(loaded->forward(stages), mix->forward(stages)));
}

TEST(StageMixing, BadInputsThrowErrorNamingShapes) {
  StageMixing mix(2);
  try {
    mix->forward({torch::zeros({2, 3, 8, 8}), torch::zeros({1, 4, 4, 4})});
    ADD_FAILURE() << "no error for mismatched batch sizes";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("[2, 3, 8, 8]"), std::string::npos) << message;
    EXPECT_NE(message.find("[1, 4, 4, 4]"), std::string::npos) << message;
  }
  EXPECT_THROW(mix->forward({torch::zeros({2, 3, 8, 8})}), Error);
  EXPECT_THROW(mix->forward({torch::zeros({3, 8, 8}), torch::zeros({3, 8, 8})}), Error);
  EXPECT_THROW(StageMixing(0), Error);
}

}  // namespace
}  // namespace nddr
