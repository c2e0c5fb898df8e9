#include "nddr/tasks/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "nddr/util/error.h"

namespace nddr {
namespace {

const auto kDouble = torch::TensorOptions().dtype(torch::kDouble);

/// Logits whose argmax over channels is `predicted` ([N,H,W] int64).
torch::Tensor logits_for(const torch::Tensor& predicted, int64_t classes) {
  return torch::one_hot(predicted, classes).permute({0, 3, 1, 2}).to(torch::kDouble) * 3 - 1;
}

TEST(SegmentationMetric, PooledConfusionMiouAndPixelAccuracy) {
  TaskSpec task{"seg", "segmentation", 4, 1.0};
  auto metric = make_metric(task);
  // Batch 1: (gt, pred) = (0,0) (0,1) (1,1) and an ignored pixel predicted 2.
  metric->add(logits_for(torch::tensor({0, 1, 1, 2}).view({1, 2, 2}), 4),
              torch::tensor({0, 0, 1, 255}).view({1, 2, 2}));
  // Batch 2: (2,2) (1,1) (0,0) (0,1).
  metric->add(logits_for(torch::tensor({2, 1, 0, 1}).view({1, 2, 2}), 4),
              torch::tensor({2, 1, 0, 0}).view({1, 2, 2}));
  // Pooled: class 0 tp 2, union 4 + 2 - 2 = 4 -> 1/2; class 1 tp 2, union
  // 2 + 4 - 2 = 4 -> 1/2; class 2 tp 1, union 1 -> 1 (the ignored pixel's
  // prediction must not count); class 3 has an empty union and is left out.
  auto values = metric->compute();
  EXPECT_NEAR(values.at("miou"), (0.5 + 0.5 + 1.0) / 3, 1e-12);
  EXPECT_NEAR(values.at("pixel_acc"), 5.0 / 7.0, 1e-12);

  auto& segmentation = dynamic_cast<SegmentationMetric&>(*metric);
  auto expected = torch::zeros({4, 4}, torch::kLong);
  expected[0][0] = 2;
  expected[0][1] = 2;
  expected[1][1] = 2;
  expected[2][2] = 1;
  EXPECT_TRUE(torch::equal(segmentation.confusion(), expected));
  EXPECT_TRUE(metric->higher_is_better().at("miou"));
  EXPECT_TRUE(metric->higher_is_better().at("pixel_acc"));

  metric->reset();
  EXPECT_TRUE(std::isnan(metric->compute().at("miou")));
}

TEST(SegmentationMetric, BadLabelIsAnErrorNamingTheTask) {
  auto metric = make_metric({"parts", "segmentation", 3, 1.0});
  try {
    metric->add(torch::zeros({1, 3, 1, 2}), torch::tensor({1, 7}).view({1, 1, 2}));
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("parts"), std::string::npos);
    EXPECT_NE(std::string(error.what()).find("7"), std::string::npos);
  }
}

/// A vector at `degrees` from (0, 0, 1), scaled to show the metric normalises.
std::vector<double> at_angle(double degrees, double scale) {
  const double radians = degrees * M_PI / 180;
  return {scale * std::sin(radians), 0, scale * std::cos(radians)};
}

/// [1,3,1,W] normals from per-pixel vectors.
torch::Tensor normals_row(const std::vector<std::vector<double>>& pixels) {
  auto result = torch::zeros({1, 3, 1, static_cast<int64_t>(pixels.size())}, kDouble);
  for (size_t p = 0; p < pixels.size(); ++p) {
    for (int64_t c = 0; c < 3; ++c) result[0][c][0][static_cast<int64_t>(p)] = pixels[p][c];
  }
  return result;
}

TEST(NormalsMetric, AnglesPooledOverValidPixels) {
  auto metric = make_metric({"normals", "normals", 3, 1.0});
  const std::vector<double> up = {0, 0, 1};
  // Batch 1: 0, 90 degrees and a pixel whose target is the zero vector.
  metric->add(normals_row({at_angle(0, 2), at_angle(90, 0.5), at_angle(33, 1)}),
              normals_row({up, {0, 0, 3}, {0, 0, 0}}));
  // Batch 2: 180, 45, 20, 25 degrees.
  metric->add(normals_row({at_angle(180, 1), at_angle(45, 4), at_angle(20, 1), at_angle(25, 1)}),
              normals_row({up, up, up, up}));
  // Angles 0, 20, 25, 45, 90, 180.
  auto values = metric->compute();
  EXPECT_NEAR(values.at("mean"), 360.0 / 6, 1e-9);
  EXPECT_NEAR(values.at("median"), (25.0 + 45.0) / 2, kAngleBinDegrees);
  EXPECT_NEAR(values.at("rmse"), std::sqrt((400.0 + 625 + 2025 + 8100 + 32400) / 6), 1e-9);
  EXPECT_NEAR(values.at("within_11.25"), 100.0 / 6, 1e-9);
  EXPECT_NEAR(values.at("within_22.5"), 200.0 / 6, 1e-9);
  EXPECT_NEAR(values.at("within_30"), 300.0 / 6, 1e-9);
  const auto better = metric->higher_is_better();
  EXPECT_FALSE(better.at("mean"));
  EXPECT_FALSE(better.at("median"));
  EXPECT_FALSE(better.at("rmse"));
  EXPECT_TRUE(better.at("within_11.25"));
  EXPECT_TRUE(better.at("within_30"));
}

TEST(NormalsMetric, NanPredictionsNeverScoreWell) {
  auto metric = make_metric({"normals", "normals", 3, 1.0});
  const std::vector<double> up = {0, 0, 1};
  const double nan = std::nan("");
  metric->add(normals_row({{nan, nan, nan}, {nan, nan, nan}, at_angle(0, 1)}),
              normals_row({up, up, up}));
  const auto values = metric->compute();
  EXPECT_GT(values.at("median"), 179.0);
  EXPECT_FALSE(values.at("mean") < 90) << "a NaN mean must not compare as good";
  EXPECT_NEAR(values.at("within_11.25"), 100.0 / 3, 1e-9);
}

TEST(NormalsMetric, MedianOfManyPixelsWithinOneBin) {
  torch::manual_seed(4);
  auto predicted = torch::randn({3, 3, 17, 19}, kDouble);
  auto truth = torch::randn({3, 3, 17, 19}, kDouble);
  auto metric = make_metric({"normals", "normals", 3, 1.0});
  metric->add(predicted.slice(0, 0, 2), truth.slice(0, 0, 2));
  metric->add(predicted.slice(0, 2), truth.slice(0, 2));
  auto cosine = (predicted * truth).sum(1) / (predicted.norm(2, 1) * truth.norm(2, 1));
  auto sorted = std::get<0>(torch::sort(torch::acos(cosine).flatten() * 180 / M_PI));
  const int64_t n = sorted.numel();  // odd: 3 * 17 * 19
  ASSERT_EQ(n % 2, 1);
  EXPECT_NEAR(metric->compute().at("median"), sorted[n / 2].item<double>(), kAngleBinDegrees);
  EXPECT_NEAR(metric->compute().at("mean"), sorted.mean().item<double>(), 1e-9);
}

TEST(DepthMetric, ErrorsPooledOverPositiveGroundTruth) {
  auto metric = make_metric({"depth", "depth", 1, 1.0});
  metric->add(torch::tensor({1.0, 2.5, 0.5}, kDouble).view({1, 1, 1, 3}),
              torch::tensor({1.5, 2.0, 0.0}, kDouble).view({1, 1, 1, 3}));
  metric->add(torch::tensor({4.0, -1.0, 2.4}, kDouble).view({1, 1, 1, 3}),
              torch::tensor({4.0, 2.0, 2.0}, kDouble).view({1, 1, 1, 3}));
  // Valid pairs (d, gt): (1, 1.5) (2.5, 2) (4, 4) (-1, 2) (2.4, 2). Ratios
  // max(d/gt, gt/d): 1.5, 1.25 (not < 1.25), 1, none (d <= 0), 1.2.
  auto values = metric->compute();
  EXPECT_NEAR(values.at("abs_err"), (0.5 + 0.5 + 0 + 3 + 0.4) / 5, 1e-12);
  EXPECT_NEAR(values.at("abs_rel"), (0.5 / 1.5 + 0.5 / 2 + 0 + 3.0 / 2 + 0.4 / 2) / 5, 1e-12);
  EXPECT_NEAR(values.at("rmse"), std::sqrt((0.25 + 0.25 + 0 + 9 + 0.16) / 5), 1e-12);
  EXPECT_NEAR(values.at("delta_1.25"), 100.0 * 2 / 5, 1e-12);
  EXPECT_FALSE(metric->higher_is_better().at("abs_rel"));
  EXPECT_TRUE(metric->higher_is_better().at("delta_1.25"));
}

TEST(ClassificationMetric, AccuracyIgnoringMinusOne) {
  auto metric = make_metric({"class", "classification", 3, 1.0});
  auto output = torch::tensor({{2.0, 0.0, 1.0}, {0.0, 3.0, 1.0}, {0.0, 0.0, 5.0}, {1.0, 2.0, 0.0}});
  metric->add(output, torch::tensor({0, 2, -1, 1}));
  // Predictions 0, 1, 2, 1 against 0, 2, (ignored), 1: 2 of 3 right.
  EXPECT_NEAR(metric->compute().at("accuracy"), 100.0 * 2 / 3, 1e-12);
  EXPECT_TRUE(metric->higher_is_better().at("accuracy"));
  EXPECT_THROW(metric->add(output, torch::tensor({0, 3, 1, 1})), Error);
}

TEST(Metrics, NothingValidIsNaN) {
  auto depth = make_metric({"depth", "depth", 1, 1.0});
  depth->add(torch::ones({1, 1, 2, 2}), torch::zeros({1, 1, 2, 2}));
  EXPECT_TRUE(std::isnan(depth->compute().at("abs_err")));
  auto normals = make_metric({"normals", "normals", 3, 1.0});
  EXPECT_TRUE(std::isnan(normals->compute().at("median")));
}

TEST(DeltaM, MixesHigherAndLowerIsBetter) {
  const std::map<std::string, MetricValues> multi = {
      {"seg", {{"miou", 0.44}, {"pixel_acc", 0.66}}},
      {"normals", {{"mean", 18}, {"within_30", 80}}}};
  const std::map<std::string, MetricValues> single = {
      {"seg", {{"miou", 0.40}, {"pixel_acc", 0.60}}},
      {"normals", {{"mean", 20}, {"within_30", 75}}},
      {"unused", {{"accuracy", 50}}}};
  const std::map<std::string, std::map<std::string, bool>> better = {
      {"seg", {{"miou", true}, {"pixel_acc", true}}},
      {"normals", {{"mean", false}, {"within_30", true}}}};
  // seg: (+0.04/0.40 + 0.06/0.60) / 2 = 0.1; normals: (-(18-20)/20 + 5/75) / 2.
  const double expected = 100 * (0.1 + (0.1 + 5.0 / 75) / 2) / 2;
  EXPECT_NEAR(delta_m(multi, single, better), expected, 1e-12);
}

TEST(DeltaM, MissingPiecesAreErrorsNamingThem) {
  const std::map<std::string, MetricValues> multi = {{"seg", {{"miou", 0.5}}}};
  const std::map<std::string, std::map<std::string, bool>> better = {{"seg", {{"miou", true}}}};
  auto message = [&](const std::map<std::string, MetricValues>& single,
                     const std::map<std::string, std::map<std::string, bool>>& flags) {
    try {
      delta_m(multi, single, flags);
    } catch (const Error& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({{"normals", {{"mean", 1}}}}, better).find("'seg'"), std::string::npos);
  EXPECT_NE(message({{"seg", {{"pixel_acc", 1}}}}, better).find("seg.miou"), std::string::npos);
  EXPECT_NE(message({{"seg", {{"miou", 0.4}}}}, {}).find("higher_is_better"), std::string::npos);
  EXPECT_NE(message({{"seg", {{"miou", 0.0}}}}, better).find("is 0"), std::string::npos);
}

}  // namespace
}  // namespace nddr
