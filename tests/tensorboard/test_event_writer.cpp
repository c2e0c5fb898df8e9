#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "nddr/tensorboard/event_writer.h"
#include "support/temp_dir.h"
#include "tensorboard_reader.h"

namespace nddr::tensorboard {
namespace {

TEST(EventWriter, NamesItsFileForTensorBoard) {
  testing::TempDir dir;
  const EventWriter first(dir.path().string());
  const EventWriter second(dir.path().string());
  EXPECT_NE(first.path(), second.path());
  const std::string name = std::filesystem::path(first.path()).filename().string();
  EXPECT_EQ(name.rfind("events.out.tfevents.", 0), 0u) << name;
  EXPECT_GT(std::filesystem::file_size(first.path()), 12u) << "the version record";
}

TEST(EventWriter, TensorBoardReadsScalarsImagesAndHistograms) {
  const std::string python = testing::venv_python();
  if (python.empty()) GTEST_SKIP() << "no venv with tensorboard (scripts/venv.sh)";
  testing::TempDir dir;
  {
    EventWriter writer(dir.path().string());
    writer.add_scalars(1, {{"loss/seg", 0.5}, {"loss/total", 1.25}});
    writer.add_scalar("loss/seg", 2, 0.25);
    writer.add_image("prediction/seg/0", 2, torch::randint(256, {6, 10, 3}).to(torch::kByte));
    writer.add_histogram("nddr/w", 2, torch::tensor({-1.0, 0.0, 0.5, 3.0}));
    writer.add_histogram("nddr/constant", 2, torch::full({5}, 0.9));
  }
  const auto found = testing::read_events(python, dir.path());
  ASSERT_FALSE(found.is_null());
  const auto& seg = found["scalars"]["loss/seg"];
  ASSERT_EQ(seg.size(), 2u) << found.dump();
  EXPECT_EQ(seg[0][0], 1);
  EXPECT_DOUBLE_EQ(seg[0][1].get<double>(), 0.5);
  EXPECT_EQ(seg[1][0], 2);
  EXPECT_DOUBLE_EQ(seg[1][1].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(found["scalars"]["loss/total"][0][1].get<double>(), 1.25);
  const auto& image = found["images"]["prediction/seg/0"];
  ASSERT_EQ(image.size(), 1u) << found.dump();
  EXPECT_EQ(image[0][1], 10);  // width
  EXPECT_EQ(image[0][2], 6);   // height
  const auto& histogram = found["histograms"]["nddr/w"];
  ASSERT_EQ(histogram.size(), 1u) << found.dump();
  EXPECT_DOUBLE_EQ(histogram[0][1].get<double>(), 4.0);   // num
  EXPECT_DOUBLE_EQ(histogram[0][2].get<double>(), -1.0);  // min
  EXPECT_DOUBLE_EQ(histogram[0][3].get<double>(), 3.0);   // max
  EXPECT_DOUBLE_EQ(histogram[0][4].get<double>(), 2.5);   // sum
  EXPECT_DOUBLE_EQ(found["histograms"]["nddr/constant"][0][1].get<double>(), 5.0);
}

}  // namespace
}  // namespace nddr::tensorboard
