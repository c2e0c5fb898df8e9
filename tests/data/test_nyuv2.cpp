#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "data/file_fixtures.h"
#include "nddr/data/nyuv2.h"
#include "nddr/io/image.h"
#include "nddr/io/npy.h"
#include "nddr/util/error.h"
#include "support/temp_dir.h"

// The reference lists may name JPEG images; io writes only PNG.
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

namespace nddr {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  }
  return "(no error)";
}

// Two 4x5 samples in the reference layout: img/<i>.png, seg/<i>.png, normal/<i>.png.
class NyuV2ListsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* folder : {"img", "seg", "normal"}) fs::create_directory(dir.path() / folder);
    torch::manual_seed(0);
    for (int i = 0; i < 2; ++i) {
      images.push_back(torch::randint(0, 256, {4, 5, 3}, torch::kByte));
      auto labels = torch::randint(0, 40, {4, 5}, torch::kByte);
      labels[0][i] = 255;
      seg.push_back(labels);
      auto normals = torch::randint(0, 255, {4, 5, 3}, torch::kByte);
      normals[1][2 + i].fill_(255);
      normals_png.push_back(normals);
      const auto name = std::to_string(i) + ".png";
      write_png(dir.file("img/" + name), images.back());
      write_png(dir.file("seg/" + name), seg.back());
      write_png(dir.file("normal/" + name), normals_png.back());
    }
    write_text(dir.file("seg.txt"), "/img/0.png /seg/0.png\n/img/1.png /seg/1.png\n");
    write_text(dir.file("normals.txt"), "/img/0.png /normal/0.png\r\n\n/img/1.png /normal/1.png\n");
  }

  NyuV2ListsOptions both() const {
    return NyuV2ListsOptions().seg_list(dir.file("seg.txt")).normals_list(dir.file("normals.txt"));
  }

  TempDir dir;
  std::vector<torch::Tensor> images, seg, normals_png;
};

TEST_F(NyuV2ListsTest, ReadsImagesLabelsAndDecodedNormals) {
  NyuV2Lists data(both());
  ASSERT_EQ(data.size(), 2);
  ASSERT_EQ(data.tasks().size(), 2u);
  EXPECT_EQ(data.tasks()[0].channels, kNyuV2Classes);
  EXPECT_EQ(data.tasks()[1].kind, "normals");
  for (int i = 0; i < 2; ++i) {
    const auto sample = data.get(i);
    EXPECT_TRUE(
        torch::allclose(sample.image, images[i].permute({2, 0, 1}).to(torch::kFloat) / 255));
    EXPECT_TRUE(torch::equal(sample.targets.at("seg"), seg[i].to(torch::kLong)));
    const auto normals = sample.targets.at("normals");
    ASSERT_EQ(normals.sizes(), (std::vector<int64_t>{3, 4, 5}));
    for (int64_t y = 0; y < 4; ++y) {
      for (int64_t x = 0; x < 5; ++x) {
        const bool invalid = y == 1 && x == 2 + i;
        for (int64_t c = 0; c < 3; ++c) {
          const double expected =
              invalid ? 0.0 : normals_png[i][y][x][c].item<int64_t>() / 127.5 - 1.0;
          EXPECT_NEAR(normals[c][y][x].item<float>(), expected, 1e-6);
        }
      }
    }
  }
}

TEST_F(NyuV2ListsTest, EitherListAloneAndExplicitRoot) {
  NyuV2Lists seg_only(NyuV2ListsOptions().seg_list(dir.file("seg.txt")).seg_task("semantic"));
  ASSERT_EQ(seg_only.tasks().size(), 1u);
  EXPECT_EQ(seg_only.get(1).targets.count("semantic"), 1u);
  fs::create_directory(dir.path() / "lists");
  write_text(dir.file("lists/normals.txt"), "img/1.png normal/1.png\n");
  NyuV2Lists normals_only(
      NyuV2ListsOptions().root(dir.path().string()).normals_list(dir.file("lists/normals.txt")));
  EXPECT_EQ(normals_only.size(), 1);
  EXPECT_EQ(normals_only.get(0).targets.count("normals"), 1u);
}

TEST_F(NyuV2ListsTest, ReadsJpegImages) {
  const auto pixels = torch::full({4, 5, 3}, 200, torch::kByte);
  ASSERT_TRUE(stbi_write_jpg(dir.file("img/0.jpg").c_str(), 5, 4, 3, pixels.data_ptr(), 100));
  write_text(dir.file("jpeg.txt"), "/img/0.jpg /seg/0.png\n");
  NyuV2Lists data(NyuV2ListsOptions().seg_list(dir.file("jpeg.txt")));
  EXPECT_NEAR(data.get(0).image.mean().item<float>(), 200 / 255.0, 3 / 255.0);
}

TEST_F(NyuV2ListsTest, MismatchedListsNameTheLine) {
  write_text(dir.file("normals.txt"), "/img/0.png /normal/0.png\n/img/0.png /normal/1.png\n");
  const auto message = error_of([&] { NyuV2Lists data(both()); });
  EXPECT_NE(message.find("line 2"), std::string::npos) << message;
  EXPECT_NE(message.find("/img/1.png"), std::string::npos) << message;
  write_text(dir.file("normals.txt"), "/img/0.png /normal/0.png\n");
  EXPECT_NE(error_of([&] { NyuV2Lists data(both()); }).find("has 1"), std::string::npos);
}

TEST_F(NyuV2ListsTest, MalformedLinesAndFilesAreErrors) {
  write_text(dir.file("seg.txt"), "/img/0.png /seg/0.png\n/img/1.png\n");
  const auto message =
      error_of([&] { NyuV2Lists data(NyuV2ListsOptions().seg_list(dir.file("seg.txt"))); });
  EXPECT_NE(message.find("seg.txt' line 2"), std::string::npos) << message;
  EXPECT_THROW(NyuV2Lists(NyuV2ListsOptions().seg_list(dir.file("none.txt"))), Error);
  EXPECT_THROW(NyuV2Lists{NyuV2ListsOptions()}, Error);

  // A label outside 0..39 (and not 255) names the label file.
  write_text(dir.file("seg.txt"), "/img/0.png /seg/0.png\n");
  auto labels = seg[0].clone();
  labels[2][2] = 40;
  write_png(dir.file("seg/0.png"), labels);
  NyuV2Lists data(NyuV2ListsOptions().seg_list(dir.file("seg.txt")));
  EXPECT_NE(error_of([&] { data.get(0); }).find("seg/0.png' holds label 40"), std::string::npos);

  // A label map of another size than its image.
  write_png(dir.file("seg/0.png"), torch::zeros({3, 5}, torch::kByte));
  EXPECT_NE(error_of([&] { data.get(0); }).find("is 3x5 but its image"), std::string::npos);
}

// MTAN layout: root/<split>/{image,label,depth,normal}/<i>.npy.
class NyuV2MtanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* folder : {"image", "label", "depth", "normal"}) {
      fs::create_directories(dir.path() / "train" / folder);
    }
    torch::manual_seed(1);
    for (int i = 0; i < 3; ++i) {
      images.push_back(torch::rand({4, 6, 3}));
      labels.push_back(torch::randint(-1, 13, {4, 6}).to(torch::kFloat));
      labels.back()[0][0] = -1;
      depths.push_back(torch::rand({4, 6, 1}) * 5);
      depths.back()[1][1][0] = 0;
      normals.push_back(torch::nn::functional::normalize(
          torch::randn({4, 6, 3}), torch::nn::functional::NormalizeFuncOptions().dim(2)));
      write(i);
    }
  }

  void write(int i) {
    const auto name = std::to_string(i) + ".npy";
    save_npy(file("image", i), images[i]);
    save_npy(file("label", i), labels[i]);
    save_npy(file("depth", i), depths[i]);
    save_npy(file("normal", i), normals[i]);
  }

  std::string file(const std::string& folder, int i) const {
    return (dir.path() / "train" / folder / (std::to_string(i) + ".npy")).string();
  }

  NyuV2MtanOptions options() const { return NyuV2MtanOptions().root(dir.path().string()); }

  TempDir dir;
  std::vector<torch::Tensor> images, labels, depths, normals;
};

TEST_F(NyuV2MtanTest, ReadsArraysAndMapsIgnoreLabel) {
  write_text(dir.file("train/image/notes.txt"), "not a sample");
  NyuV2Mtan data(options());
  ASSERT_EQ(data.size(), 3);
  ASSERT_EQ(data.tasks().size(), 3u);
  EXPECT_EQ(data.tasks()[0].channels, kNyuV2MtanClasses);
  for (int i = 0; i < 3; ++i) {
    const auto sample = data.get(i);
    EXPECT_TRUE(torch::equal(sample.image, images[i].permute({2, 0, 1})));
    auto expected = labels[i].to(torch::kLong);
    expected.masked_fill_(expected.eq(-1), 255);
    EXPECT_TRUE(torch::equal(sample.targets.at("seg"), expected));
    EXPECT_EQ(sample.targets.at("seg")[0][0].item<int64_t>(), 255);
    EXPECT_TRUE(torch::equal(sample.targets.at("depth"), depths[i].permute({2, 0, 1})));
    EXPECT_TRUE(torch::equal(sample.targets.at("normals"), normals[i].permute({2, 0, 1})));
  }
}

TEST_F(NyuV2MtanTest, ReadsBigEndianArrays) {
  testing::write_big_endian_npy(file("image", 1), images[1]);
  testing::write_big_endian_npy(file("label", 1), labels[1]);
  NyuV2Mtan data(options());
  const auto sample = data.get(1);
  EXPECT_TRUE(torch::equal(sample.image, images[1].permute({2, 0, 1})));
  EXPECT_EQ(sample.targets.at("seg")[0][0].item<int64_t>(), 255);
  EXPECT_TRUE(torch::equal(sample.targets.at("seg").ne(255), labels[1].ne(-1)));
}

TEST_F(NyuV2MtanTest, SampleCountIsTheNumberOfImageFiles) {
  fs::remove(file("image", 2));
  fs::remove(file("label", 2));
  fs::remove(file("depth", 2));
  fs::remove(file("normal", 2));
  EXPECT_EQ(NyuV2Mtan(options()).size(), 2);
}

TEST_F(NyuV2MtanTest, ErrorsNameTheFile) {
  fs::remove(file("depth", 1));
  auto message = error_of([&] { NyuV2Mtan data(options()); });
  EXPECT_NE(message.find(file("depth", 1)), std::string::npos) << message;
  // Without a depth task the depth folder is not needed.
  EXPECT_EQ(NyuV2Mtan(options().depth_task("")).tasks().size(), 2u);
  write(1);

  save_npy(file("image", 2), torch::rand({4, 6}));
  message = error_of([&] { NyuV2Mtan(options()).get(2); });
  EXPECT_NE(message.find(file("image", 2)), std::string::npos) << message;
  save_npy(file("image", 2), images[2].to(torch::kLong));
  EXPECT_NE(error_of([&] { NyuV2Mtan(options()).get(2); }).find("Long"), std::string::npos);
  write(2);

  auto bad = labels[0].clone();
  bad[3][3] = 13;
  save_npy(file("label", 0), bad);
  message = error_of([&] { NyuV2Mtan(options()).get(0); });
  EXPECT_NE(message.find(file("label", 0)), std::string::npos) << message;

  save_npy(file("depth", 0), torch::rand({4, 5, 1}));
  message = error_of([&] { NyuV2Mtan(options().seg_task("")).get(0); });
  EXPECT_NE(message.find("is 4x5 but its image"), std::string::npos) << message;
}

TEST_F(NyuV2MtanTest, SplitTypoAndMissingFolder) {
  EXPECT_NE(
      error_of([&] { NyuV2Mtan data(options().split("trian")); }).find("did you mean 'train'"),
      std::string::npos);
  EXPECT_NE(error_of([&] { NyuV2Mtan data(options().split("val")); }).find("val/image"),
            std::string::npos);
}

}  // namespace
}  // namespace nddr
