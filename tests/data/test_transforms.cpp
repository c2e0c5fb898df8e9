#include <gtest/gtest.h>
#include <torch/torch.h>

#include <random>
#include <set>

#include "nddr/data/transforms.h"
#include "nddr/util/error.h"

namespace nddr {
namespace {

const std::vector<TaskSpec> kDenseTasks = {
    {"seg", "segmentation", 10, 1.0}, {"normals", "normals", 3, 1.0}, {"depth", "depth", 1, 1.0}};

Sample dense_sample(int64_t height, int64_t width) {
  torch::manual_seed(3);
  Sample sample;
  sample.image = torch::rand({3, height, width}, torch::kDouble);
  sample.targets["seg"] = torch::randint(0, 10, {height, width}, torch::kLong);
  sample.targets["normals"] = torch::nn::functional::normalize(
      torch::randn({3, height, width}), torch::nn::functional::NormalizeFuncOptions().dim(0));
  sample.targets["depth"] = torch::rand({1, height, width}) + 1.0f;
  return sample;
}

TEST(Augment, FlipMirrorsLabelsAndNegatesNormalsX) {
  const auto input = dense_sample(4, 5);
  int flipped = 0;
  int kept = 0;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    std::mt19937_64 rng(seed);
    const auto out = augment(input, AugmentOptions().flip(true), rng, kDenseTasks);
    if (torch::equal(out.image, input.image)) {
      ++kept;
      EXPECT_TRUE(torch::equal(out.targets.at("normals"), input.targets.at("normals")));
      continue;
    }
    ++flipped;
    for (int64_t j = 0; j < 5; ++j) {
      const int64_t mirror = 4 - j;
      EXPECT_TRUE(torch::equal(out.image.select(2, j), input.image.select(2, mirror)));
      EXPECT_TRUE(torch::equal(out.targets.at("seg").select(1, j),
                               input.targets.at("seg").select(1, mirror)));
      EXPECT_TRUE(torch::equal(out.targets.at("depth").select(2, j),
                               input.targets.at("depth").select(2, mirror)));
      const auto normals = out.targets.at("normals").select(2, j);
      const auto source = input.targets.at("normals").select(2, mirror);
      EXPECT_TRUE(torch::equal(normals[0], -source[0]));
      EXPECT_TRUE(torch::equal(normals.slice(0, 1), source.slice(0, 1)));
    }
  }
  // p = 0.5: both outcomes occur in 40 draws.
  EXPECT_GT(flipped, 5);
  EXPECT_GT(kept, 5);
}

TEST(Augment, CropPadsWithInvalidValues) {
  const auto input = dense_sample(4, 5);
  std::mt19937_64 rng(1);
  const auto out = augment(input, AugmentOptions().crop_height(6).crop_width(7), rng, kDenseTasks);
  ASSERT_EQ(out.image.sizes(), (std::vector<int64_t>{3, 6, 7}));
  ASSERT_EQ(out.targets.at("seg").sizes(), (std::vector<int64_t>{6, 7}));
  // The original sits at the top left, the padding below and right of it.
  auto inside = [](const torch::Tensor& t) { return t.narrow(-2, 0, 4).narrow(-1, 0, 5); };
  EXPECT_TRUE(torch::equal(inside(out.image), input.image));
  EXPECT_TRUE(torch::equal(inside(out.targets.at("seg")), input.targets.at("seg")));
  EXPECT_TRUE(torch::equal(inside(out.targets.at("normals")), input.targets.at("normals")));
  EXPECT_TRUE(torch::equal(inside(out.targets.at("depth")), input.targets.at("depth")));
  auto padding = torch::ones({6, 7}, torch::kBool);
  padding.narrow(0, 0, 4).narrow(1, 0, 5).fill_(false);
  EXPECT_TRUE(out.targets.at("seg").masked_select(padding).eq(255).all().item<bool>());
  EXPECT_TRUE(out.image.masked_select(padding).eq(0).all().item<bool>());
  EXPECT_TRUE(out.targets.at("normals").masked_select(padding).eq(0).all().item<bool>());
  EXPECT_TRUE(out.targets.at("depth").masked_select(padding).eq(0).all().item<bool>());
}

TEST(Augment, CropTakesTheSameWindowOfImageAndTargets) {
  const auto input = dense_sample(6, 7);
  std::set<std::pair<int64_t, int64_t>> windows;
  for (uint64_t seed = 0; seed < 30; ++seed) {
    std::mt19937_64 rng(seed);
    const auto out =
        augment(input, AugmentOptions().crop_height(3).crop_width(4), rng, kDenseTasks);
    ASSERT_EQ(out.image.sizes(), (std::vector<int64_t>{3, 3, 4}));
    bool found = false;
    for (int64_t top = 0; top <= 3 && !found; ++top) {
      for (int64_t left = 0; left <= 3 && !found; ++left) {
        auto window = [&](const torch::Tensor& t) {
          return t.narrow(-2, top, 3).narrow(-1, left, 4);
        };
        if (!torch::equal(out.image, window(input.image))) continue;
        found = true;
        windows.emplace(top, left);
        EXPECT_TRUE(torch::equal(out.targets.at("seg"), window(input.targets.at("seg"))));
        EXPECT_TRUE(torch::equal(out.targets.at("normals"), window(input.targets.at("normals"))));
        EXPECT_TRUE(torch::equal(out.targets.at("depth"), window(input.targets.at("depth"))));
      }
    }
    EXPECT_TRUE(found) << "seed " << seed;
  }
  EXPECT_GT(windows.size(), 3u);
}

TEST(Augment, FixedScaleIsBilinearForImagesAndNearestForTargets) {
  Sample input;
  input.image = torch::tensor({1.0, 5.0}, torch::kDouble).view({1, 1, 2}).expand({3, 1, 2}).clone();
  input.targets["seg"] = torch::tensor({{3, 8}}, torch::kLong);
  input.targets["depth"] = torch::tensor({2.0f, 4.0f}).view({1, 1, 2});
  std::mt19937_64 rng(0);
  const auto out = augment(input, AugmentOptions().scale_min(2.0).scale_max(2.0), rng, kDenseTasks);
  // Output pixel x samples the input at (x + 0.5) / 2 - 0.5, clamped to the border.
  const auto expected =
      torch::tensor({1.0, 1.0 * 0.75 + 5.0 * 0.25, 1.0 * 0.25 + 5.0 * 0.75, 5.0}, torch::kDouble);
  ASSERT_EQ(out.image.sizes(), (std::vector<int64_t>{3, 2, 4}));
  EXPECT_TRUE(torch::allclose(out.image[0][1], expected, 0, 1e-12));
  EXPECT_TRUE(torch::equal(out.targets.at("seg"),
                           torch::tensor({{3, 3, 8, 8}, {3, 3, 8, 8}}, torch::kLong)));
  EXPECT_TRUE(torch::equal(out.targets.at("depth"),
                           torch::tensor({2.0f, 2.0f, 4.0f, 4.0f}).expand({1, 2, 4})));
}

TEST(Augment, RandomScaleKeepsLabelValuesAndStaysInRange) {
  const auto input = dense_sample(20, 30);
  const auto values = std::get<0>(torch::_unique(input.targets.at("seg")));
  std::set<int64_t> heights;
  for (uint64_t seed = 0; seed < 10; ++seed) {
    std::mt19937_64 rng(seed);
    const auto out =
        augment(input, AugmentOptions().scale_min(0.5).scale_max(1.5), rng, kDenseTasks);
    const int64_t height = out.image.size(1);
    EXPECT_GE(height, 10);
    EXPECT_LT(height, 30);
    EXPECT_EQ(out.targets.at("seg").size(0), height);
    EXPECT_EQ(out.targets.at("normals").size(1), height);
    EXPECT_EQ(out.targets.at("seg").scalar_type(), torch::kLong);
    heights.insert(height);
    // Nearest neighbour: no value that was not a label before.
    EXPECT_TRUE(torch::isin(out.targets.at("seg"), values).all().item<bool>());
  }
  EXPECT_GT(heights.size(), 3u);
}

TEST(Augment, DropsUnlistedTargetsAndKeepsClassification) {
  auto input = dense_sample(4, 4);
  input.targets["label"] = torch::tensor(7);
  std::mt19937_64 rng(0);
  const auto out = augment(input, AugmentOptions().flip(true).crop_height(2).crop_width(2), rng,
                           {{"label", "classification", 10, 1.0}});
  EXPECT_EQ(out.targets.size(), 1u);
  EXPECT_EQ(out.targets.at("label").item<int64_t>(), 7);
}

TEST(Augment, RejectsBadOptionsAndMismatchedTargets) {
  auto input = dense_sample(4, 4);
  std::mt19937_64 rng(0);
  EXPECT_THROW(augment(input, AugmentOptions().scale_min(1.5).scale_max(0.5), rng, kDenseTasks),
               Error);
  EXPECT_THROW(augment(input, AugmentOptions().crop_height(-1), rng, kDenseTasks), Error);
  input.targets["seg"] = torch::zeros({3, 4}, torch::kLong);
  EXPECT_THROW(augment(input, AugmentOptions(), rng, kDenseTasks), Error);
}

TEST(Normalize, ModesAgainstExplicitValues) {
  const auto image = torch::tensor({0.2, 0.5, 1.0}, torch::kDouble).view({3, 1, 1});
  EXPECT_TRUE(torch::equal(normalize(image, NormalizeOptions()), image));

  const auto mean_std =
      normalize(image, NormalizeOptions().mode("mean_std").mean({0.1, 0.2, 0.3}).stddev({2, 4, 5}));
  EXPECT_NEAR(mean_std[0].item<double>(), (0.2 - 0.1) / 2, 1e-12);
  EXPECT_NEAR(mean_std[1].item<double>(), (0.5 - 0.2) / 4, 1e-12);
  EXPECT_NEAR(mean_std[2].item<double>(), (1.0 - 0.3) / 5, 1e-12);

  // Channel 0 becomes blue: 1.0 * 255 - 104.00699, then green, then red.
  const auto bgr = normalize(image, NormalizeOptions().mode("bgr_mean"));
  EXPECT_NEAR(bgr[0].item<double>(), 255.0 - 104.00699, 1e-9);
  EXPECT_NEAR(bgr[1].item<double>(), 0.5 * 255 - 116.66877, 1e-9);
  EXPECT_NEAR(bgr[2].item<double>(), 0.2 * 255 - 122.67891, 1e-9);

  const auto batch =
      normalize(image.unsqueeze(0).expand({2, 3, 1, 1}), NormalizeOptions().mode("bgr_mean"));
  EXPECT_TRUE(torch::allclose(batch[1], bgr));
}

TEST(Normalize, RejectsUnknownModeWithSuggestion) {
  const auto image = torch::zeros({3, 1, 1});
  try {
    normalize(image, NormalizeOptions().mode("mean_sdt"));
    FAIL() << "expected an Error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("did you mean 'mean_std'"), std::string::npos)
        << error.what();
  }
  EXPECT_THROW(normalize(image, NormalizeOptions().mode("mean_std").stddev({1, 0, 1})), Error);
  EXPECT_THROW(normalize(image, NormalizeOptions().mode("mean_std").mean({0.5})), Error);
}

}  // namespace
}  // namespace nddr
