#include "nddr/layers/cross_stitch.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "nddr/util/error.h"
#include "support/gradient_check.h"

namespace nddr {
namespace {

std::vector<torch::Tensor> random_features(int64_t tasks, int64_t channels,
                                           torch::Dtype dtype = torch::kFloat) {
  std::vector<torch::Tensor> features;
  for (int64_t k = 0; k < tasks; ++k) features.push_back(torch::randn({2, channels, 3, 4}, dtype));
  return features;
}

CrossStitch random_unit(CrossStitchOptions options) {
  CrossStitch unit(options);
  unit->to(torch::kDouble);
  torch::NoGradGuard no_grad;
  unit->weight.copy_(torch::randn_like(unit->weight));
  return unit;
}

TEST(CrossStitch, ShapesForTwoAndThreeTasks) {
  for (const int64_t tasks : {2, 3}) {
    for (const bool per_channel : {true, false}) {
      CrossStitch unit(CrossStitchOptions(tasks, 5).per_channel(per_channel));
      EXPECT_EQ(unit->weight.sizes(), per_channel ? torch::IntArrayRef({tasks, tasks, 5})
                                                  : torch::IntArrayRef({tasks, tasks}));
      const auto outputs = unit->forward(random_features(tasks, 5));
      ASSERT_EQ(static_cast<int64_t>(outputs.size()), tasks);
      for (const auto& out : outputs) EXPECT_EQ(out.sizes(), torch::IntArrayRef({2, 5, 3, 4}));
    }
  }
}

TEST(CrossStitch, DiagonalInitPutsAlphaOnDiagonalAndBetaElsewhere) {
  for (const auto& [alpha, beta] : std::vector<std::pair<double, double>>{{0.9, 0.1}, {0.3, 0.6}}) {
    CrossStitch unit(CrossStitchOptions(3, 4).alpha(alpha).beta(beta));
    for (int64_t k = 0; k < 3; ++k) {
      for (int64_t j = 0; j < 3; ++j) {
        const auto expected = torch::full({4}, k == j ? alpha : beta);
        EXPECT_TRUE(torch::equal(unit->weight[k][j], expected)) << k << "," << j;
      }
    }
  }
}

TEST(CrossStitch, RandomInitsHaveTheirScale) {
  // Many independent weights so the sample std is close to the target.
  CrossStitch xavier(CrossStitchOptions(2, 4096).init(FusionInit::kXavier));
  const double bound = std::sqrt(6.0 / 4.0);
  EXPECT_LE(xavier->weight.abs().max().item<double>(), bound);
  EXPECT_NEAR(xavier->weight.std().item<double>(), bound / std::sqrt(3.0), 0.03 * bound);
  CrossStitch msra(CrossStitchOptions(2, 4096).init(FusionInit::kMsra));
  EXPECT_NEAR(msra->weight.std().item<double>(), 1.0, 0.03);
}

TEST(CrossStitch, ForwardMatchesExplicitMixing) {
  torch::manual_seed(5);
  for (const bool per_channel : {true, false}) {
    auto unit = random_unit(CrossStitchOptions(3, 4).per_channel(per_channel));
    const auto features = random_features(3, 4, torch::kDouble);
    const auto outputs = unit->forward(features);
    for (int64_t k = 0; k < 3; ++k) {
      auto expected = torch::zeros_like(features[0]);
      for (int64_t j = 0; j < 3; ++j) {
        for (int64_t c = 0; c < 4; ++c) {
          const double w = per_channel ? unit->weight[k][j][c].item<double>()
                                       : unit->weight[k][j].item<double>();
          expected.select(1, c) += w * features[j].select(1, c);
        }
      }
      EXPECT_TRUE(torch::allclose(outputs[k], expected, 1e-12, 1e-12))
          << "task " << k << (per_channel ? " per channel" : " per pair");
    }
  }
}

TEST(CrossStitch, GradientsMatchFiniteDifferences) {
  torch::manual_seed(6);
  for (const bool per_channel : {true, false}) {
    auto unit = random_unit(CrossStitchOptions(2, 3).per_channel(per_channel));
    auto features = random_features(2, 3, torch::kDouble);
    for (auto& feature : features) feature.requires_grad_(true);
    std::vector<torch::Tensor> projections = {torch::randn_like(features[0]),
                                              torch::randn_like(features[0])};
    const auto loss = [&] {
      const auto outputs = unit->forward(features);
      return (outputs[0] * projections[0]).sum() + (outputs[1] * projections[1]).sum();
    };
    SCOPED_TRACE(per_channel ? "per channel" : "per pair");
    testing::expect_gradients_match(loss, {features[0], features[1], unit->weight},
                                    {"input 0", "input 1", "weight"});
  }
}

TEST(CrossStitch, SaveLoadRoundTripGivesIdenticalOutputs) {
  auto unit = random_unit(CrossStitchOptions(2, 3));
  const auto path = std::filesystem::temp_directory_path() / "cross_stitch_round_trip.pt";
  torch::save(unit, path.string());
  CrossStitch loaded(CrossStitchOptions(2, 3));
  loaded->to(torch::kDouble);  // load copies into the existing parameters' dtype
  torch::load(loaded, path.string());
  std::filesystem::remove(path);
  const auto features = random_features(2, 3, torch::kDouble);
  const auto expected = unit->forward(features);
  const auto actual = loaded->forward(features);
  for (size_t k = 0; k < expected.size(); ++k) EXPECT_TRUE(torch::equal(actual[k], expected[k]));
}

TEST(CrossStitch, MismatchedInputsThrowErrorNamingShapes) {
  CrossStitch unit(2, 4);
  try {
    unit->forward({torch::zeros({2, 4, 5, 5}), torch::zeros({2, 4, 5, 6})});
    ADD_FAILURE() << "no error";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("CrossStitch"), std::string::npos) << message;
    EXPECT_NE(message.find("[2, 4, 5, 5]"), std::string::npos) << message;
    EXPECT_NE(message.find("[2, 4, 5, 6]"), std::string::npos) << message;
  }
  EXPECT_THROW(unit->forward({torch::zeros({2, 4, 5, 5})}), Error);
  EXPECT_THROW(CrossStitch(1, 4), Error);
}

TEST(CrossStitch, ParameterNameIsWeight) {
  CrossStitch unit(2, 4);
  const auto parameters = unit->named_parameters();
  ASSERT_EQ(parameters.size(), 1u);
  EXPECT_EQ(parameters.begin()->key(), "weight");
}

}  // namespace
}  // namespace nddr
