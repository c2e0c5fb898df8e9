#include "nddr/tasks/losses.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "nddr/util/error.h"
#include "support/gradient_check.h"

namespace nddr {
namespace {

const auto kDouble = torch::TensorOptions().dtype(torch::kDouble);

TaskSpec spec(TaskKind kind, int64_t channels) { return {"t", kind, channels, 1.0}; }

/// -log softmax(logits)[label], written out.
double neg_log_softmax(const std::vector<double>& logits, int64_t label) {
  double sum = 0;
  for (double v : logits) sum += std::exp(v);
  return std::log(sum) - logits[label];
}

TEST(SegmentationLoss, MeanCrossEntropyOverNonIgnoredPixels) {
  // 3 classes on a 2x2 image; logits per pixel listed in raster order.
  const std::vector<std::vector<double>> pixel_logits = {
      {1.0, -0.5, 0.25}, {0.0, 2.0, -1.0}, {3.0, 1.0, 0.5}, {-2.0, 0.5, 1.5}};
  const std::vector<int64_t> labels = {0, 2, kIgnoreLabel, 1};
  auto output = torch::empty({1, 3, 2, 2}, kDouble);
  for (int64_t p = 0; p < 4; ++p) {
    for (int64_t c = 0; c < 3; ++c) output[0][c][p / 2][p % 2] = pixel_logits[p][c];
  }
  auto target = torch::tensor(labels).view({1, 2, 2});
  const double expected =
      (neg_log_softmax(pixel_logits[0], 0) + neg_log_softmax(pixel_logits[1], 2) +
       neg_log_softmax(pixel_logits[3], 1)) /
      3;
  auto loss = task_loss(spec("segmentation", 3), output, target);
  EXPECT_NEAR(loss.item<double>(), expected, 1e-12);
}

TEST(SegmentationLoss, AllIgnoredIsZeroWithGradientPath) {
  auto output = torch::randn({2, 4, 3, 3}, kDouble).set_requires_grad(true);
  auto target = torch::full({2, 3, 3}, kIgnoreLabel, torch::kLong);
  auto loss = task_loss(spec("segmentation", 4), output, target);
  EXPECT_EQ(loss.item<double>(), 0.0);
  ASSERT_TRUE(loss.requires_grad());
  loss.backward();
  EXPECT_EQ(output.grad().abs().max().item<double>(), 0.0);
}

TEST(SegmentationLoss, LabelOutOfRangeIsAnError) {
  auto output = torch::zeros({1, 3, 1, 2}, kDouble);
  auto target = torch::tensor({0, 3}, torch::kLong).view({1, 1, 2});
  EXPECT_THROW(task_loss(spec("segmentation", 3), output, target), Error);
}

TEST(SegmentationLoss, GradientMatchesFiniteDifferences) {
  torch::manual_seed(0);
  auto output = torch::randn({2, 3, 2, 3}, kDouble);
  auto target = torch::randint(0, 3, {2, 2, 3}, torch::kLong);
  target[0][1][1] = kIgnoreLabel;
  auto task = spec("segmentation", 3);
  auto f = [&](const torch::Tensor& x) { return task_loss(task, x, target); };
  EXPECT_LT(testing::max_gradient_error(f, output), 1e-8);
}

TEST(NormalsLoss, OneMinusCosineOverValidPixels) {
  // Pixel angles 0, 90, 180 and 60 degrees; the prediction is not unit length
  // and the 5th pixel's target is the zero vector (invalid).
  auto output = torch::zeros({1, 3, 1, 5}, kDouble);
  auto target = torch::zeros({1, 3, 1, 5}, kDouble);
  const double half_sqrt3 = std::sqrt(3.0) / 2;
  const std::vector<std::vector<double>> predicted = {
      {0, 0, 2}, {3, 0, 0}, {0, -0.5, 0}, {0, 4 * half_sqrt3, 2}, {1, 1, 1}};
  const std::vector<std::vector<double>> truth = {
      {0, 0, 1}, {0, 0, 5}, {0, 1, 0}, {0, 0, 1}, {0, 0, 0}};
  for (int64_t p = 0; p < 5; ++p) {
    for (int64_t c = 0; c < 3; ++c) {
      output[0][c][0][p] = predicted[p][c];
      target[0][c][0][p] = truth[p][c];
    }
  }
  const double expected = ((1 - 1.0) + (1 - 0.0) + (1 - -1.0) + (1 - 0.5)) / 4;
  auto loss = task_loss(spec("normals", 3), output, target);
  EXPECT_NEAR(loss.item<double>(), expected, 1e-12);
}

TEST(NormalsLoss, NoValidPixelIsZeroWithGradientPath) {
  auto output = torch::randn({1, 3, 2, 2}, kDouble).set_requires_grad(true);
  auto loss = task_loss(spec("normals", 3), output, torch::zeros({1, 3, 2, 2}, kDouble));
  EXPECT_EQ(loss.item<double>(), 0.0);
  ASSERT_TRUE(loss.requires_grad());
  loss.backward();
  EXPECT_EQ(output.grad().abs().max().item<double>(), 0.0);
}

TEST(NormalsLoss, GradientMatchesFiniteDifferences) {
  torch::manual_seed(1);
  auto output = torch::randn({2, 3, 2, 2}, kDouble);
  auto target = torch::randn({2, 3, 2, 2}, kDouble);
  target.select(0, 1).select(2, 0).zero_();
  auto task = spec("normals", 3);
  auto f = [&](const torch::Tensor& x) { return task_loss(task, x, target); };
  EXPECT_LT(testing::max_gradient_error(f, output), 1e-8);
}

TEST(DepthLoss, L1OverPositiveTargets) {
  auto output = torch::tensor({1.0, 2.5, -1.0, 7.0}, kDouble).view({1, 1, 2, 2});
  auto target = torch::tensor({1.5, 2.0, 0.0, 4.0}, kDouble).view({1, 1, 2, 2});
  const double expected = (0.5 + 0.5 + 3.0) / 3;
  auto loss = task_loss(spec("depth", 1), output, target);
  EXPECT_NEAR(loss.item<double>(), expected, 1e-12);
}

TEST(DepthLoss, NoValidPixelIsZeroWithGradientPath) {
  auto output = torch::randn({1, 1, 2, 2}, kDouble).set_requires_grad(true);
  auto loss = task_loss(spec("depth", 1), output, torch::zeros({1, 1, 2, 2}, kDouble));
  EXPECT_EQ(loss.item<double>(), 0.0);
  ASSERT_TRUE(loss.requires_grad());
  loss.backward();
  EXPECT_EQ(output.grad().abs().max().item<double>(), 0.0);
}

TEST(DepthLoss, GradientMatchesFiniteDifferences) {
  torch::manual_seed(2);
  // Keep |output - target| away from 0, where L1 has a kink.
  auto target = torch::rand({2, 1, 2, 3}, kDouble) + 1;
  auto output = target + torch::where(torch::rand_like(target) > 0.5, 0.3, -0.3);
  target[1][0][0][0] = 0.0;
  auto task = spec("depth", 1);
  auto f = [&](const torch::Tensor& x) { return task_loss(task, x, target); };
  EXPECT_LT(testing::max_gradient_error(f, output), 1e-8);
}

TEST(ClassificationLoss, CrossEntropyIgnoringMinusOne) {
  const std::vector<std::vector<double>> logits = {{0.5, 1.5}, {2.0, -1.0}, {0.0, 0.0}};
  auto output = torch::tensor({0.5, 1.5, 2.0, -1.0, 0.0, 0.0}, kDouble).view({3, 2});
  auto target = torch::tensor({1, -1, 0}, torch::kLong);
  const double expected = (neg_log_softmax(logits[0], 1) + neg_log_softmax(logits[2], 0)) / 2;
  auto loss = task_loss(spec("classification", 2), output, target);
  EXPECT_NEAR(loss.item<double>(), expected, 1e-12);
}

TEST(ClassificationLoss, AllIgnoredIsZeroAndBadLabelIsAnError) {
  auto task = spec("classification", 2);
  auto output = torch::randn({2, 2}, kDouble).set_requires_grad(true);
  auto loss = task_loss(task, output, torch::tensor({-1, -1}, torch::kLong));
  EXPECT_EQ(loss.item<double>(), 0.0);
  loss.backward();
  EXPECT_EQ(output.grad().abs().max().item<double>(), 0.0);
  EXPECT_THROW(task_loss(task, output, torch::tensor({0, 2}, torch::kLong)), Error);
}

TEST(ClassificationLoss, GradientMatchesFiniteDifferences) {
  torch::manual_seed(3);
  auto output = torch::randn({4, 3}, kDouble);
  auto target = torch::tensor({2, -1, 0, 1}, torch::kLong);
  auto task = spec("classification", 3);
  auto f = [&](const torch::Tensor& x) { return task_loss(task, x, target); };
  EXPECT_LT(testing::max_gradient_error(f, output), 1e-8);
}

TEST(LossShapes, MismatchedTargetIsRejected) {
  auto output = torch::zeros({1, 3, 4, 4}, kDouble);
  EXPECT_THROW(task_loss(spec("normals", 3), output, torch::zeros({1, 3, 2, 2})), c10::Error);
  EXPECT_THROW(task_loss(spec("segmentation", 3), output, torch::zeros({1, 2, 4}, torch::kLong)),
               c10::Error);
}

TEST(ResizeTargetNearest, PicksFloorOfScaledIndex) {
  // 5x6 -> 2x4: rows floor(i*5/2) = 0,2; columns floor(j*6/4) = 0,1,3,4.
  auto target = torch::arange(30, torch::kLong).view({5, 6});
  auto resized = resize_target_nearest(target, "segmentation", 2, 4);
  ASSERT_EQ(resized.sizes(), (std::vector<int64_t>{2, 4}));
  const std::vector<int64_t> rows = {0, 2}, cols = {0, 1, 3, 4};
  for (int64_t i = 0; i < 2; ++i) {
    for (int64_t j = 0; j < 4; ++j) {
      EXPECT_EQ(resized[i][j].item<int64_t>(), rows[i] * 6 + cols[j]);
    }
  }
}

TEST(ResizeTargetNearest, MatchesTorchInterpolateNearest) {
  namespace F = torch::nn::functional;
  const std::vector<std::pair<int64_t, int64_t>> sizes = {{321, 41}, {10, 6},   {7, 3}, {4, 8},
                                                          {3, 7},    {480, 60}, {5, 5}};
  for (const auto& [in, out] : sizes) {
    auto target = torch::randint(0, 1000, {2, 3, in, in + 1}, torch::kLong);
    auto resized = resize_target_nearest(target, "normals", out, out + 2);
    auto reference =
        F::interpolate(target.to(torch::kFloat), F::InterpolateFuncOptions()
                                                     .size(std::vector<int64_t>{out, out + 2})
                                                     .mode(torch::kNearest))
            .to(torch::kLong);
    EXPECT_TRUE(torch::equal(resized, reference)) << in << " -> " << out;
  }
}

TEST(ResizeTargetNearest, ClassificationIsIdentity) {
  auto target = torch::tensor({3, -1, 0}, torch::kLong);
  EXPECT_TRUE(torch::equal(resize_target_nearest(target, "classification", 7, 9), target));
}

}  // namespace
}  // namespace nddr
