#include "nddr/tasks/visualize.h"

#include <gtest/gtest.h>

#include <set>
#include <tuple>

#include "nddr/util/error.h"

namespace nddr {
namespace {

std::tuple<int, int, int> pixel(const torch::Tensor& image, int64_t y, int64_t x) {
  auto rgb = image[y][x].to(torch::kInt);
  return {rgb[0].item<int>(), rgb[1].item<int>(), rgb[2].item<int>()};
}

TEST(ColorizeSegmentation, DistinctColoursAndBlackIgnore) {
  auto labels = torch::arange(256, torch::kLong).view({16, 16});
  auto image = colorize_segmentation(labels);
  ASSERT_EQ(image.sizes(), (std::vector<int64_t>{16, 16, 3}));
  ASSERT_EQ(image.scalar_type(), torch::kUInt8);
  // VOC palette shifted by one: label 0 -> VOC 1 = dark red, label 1 -> VOC 2.
  EXPECT_EQ(pixel(image, 0, 0), std::make_tuple(128, 0, 0));
  EXPECT_EQ(pixel(image, 0, 1), std::make_tuple(0, 128, 0));
  EXPECT_EQ(pixel(image, 15, 15), std::make_tuple(0, 0, 0));  // 255 = ignore
  std::set<std::tuple<int, int, int>> colours;
  for (int64_t label = 0; label < 255; ++label)
    colours.insert(pixel(image, label / 16, label % 16));
  EXPECT_EQ(colours.size(), 255u);
  EXPECT_EQ(colours.count({0, 0, 0}), 0u);
}

TEST(ColorizeSegmentation, LabelsOutsideThePaletteAreErrors) {
  EXPECT_THROW(colorize_segmentation(torch::tensor({{0, 256}})), Error);
  EXPECT_THROW(colorize_segmentation(torch::tensor({{-1, 0}})), Error);
}

TEST(ColorizeNormals, MapsMinusOneToOneOntoBytes) {
  auto normals = torch::tensor({0.0, -1.0, 2.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0}).view({3, 1, 3});
  auto image = colorize_normals(normals);
  ASSERT_EQ(image.sizes(), (std::vector<int64_t>{1, 3, 3}));
  // (n + 1) / 2 * 255: 0 -> 127.5 rounds to 128, -1 -> 0, 1 -> 255, 2 clamps to 255.
  EXPECT_EQ(pixel(image, 0, 0), std::make_tuple(128, 128, 255));
  EXPECT_EQ(pixel(image, 0, 1), std::make_tuple(0, 255, 128));
  EXPECT_EQ(pixel(image, 0, 2), std::make_tuple(255, 128, 128));
}

TEST(ColorizeDepth, ViridisOverTheValidRange) {
  auto depth = torch::tensor({0.0, 1.0, 2.0, 3.0}).view({1, 2, 2});
  auto image = colorize_depth(depth);
  ASSERT_EQ(image.sizes(), (std::vector<int64_t>{2, 2, 3}));
  EXPECT_EQ(pixel(image, 0, 0), std::make_tuple(0, 0, 0));       // invalid
  EXPECT_EQ(pixel(image, 0, 1), std::make_tuple(68, 1, 84));     // min: viridis(0)
  EXPECT_EQ(pixel(image, 1, 0), std::make_tuple(33, 145, 140));  // middle stop
  EXPECT_EQ(pixel(image, 1, 1), std::make_tuple(253, 231, 37));  // max: viridis(1)
  auto fixed = colorize_depth(depth, 0.0, 4.0);
  EXPECT_EQ(pixel(fixed, 1, 0), std::make_tuple(33, 145, 140));  // 2 is the middle of [0, 4]
  EXPECT_THROW(colorize_depth(depth, 3.0, 1.0), Error);
}

TEST(Viridis, InterpolatesBetweenStops) {
  auto rgb = viridis(torch::tensor({1.0 / 16, -1.0, 2.0}));
  ASSERT_EQ(rgb.sizes(), (std::vector<int64_t>{3, 3}));
  // Halfway between (68, 1, 84) and (71, 45, 123).
  EXPECT_EQ(pixel(rgb.unsqueeze(0), 0, 0), std::make_tuple(70, 23, 104));
  EXPECT_EQ(pixel(rgb.unsqueeze(0), 0, 1), std::make_tuple(68, 1, 84));
  EXPECT_EQ(pixel(rgb.unsqueeze(0), 0, 2), std::make_tuple(253, 231, 37));
}

}  // namespace
}  // namespace nddr
