#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "data/file_fixtures.h"
#include "nddr/data/manifest.h"
#include "nddr/io/image.h"
#include "nddr/util/error.h"
#include "support/temp_dir.h"

namespace nddr {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

const std::vector<TaskSpec> kTasks = {{"seg", "segmentation", 5, 1.0},
                                      {"normals", "normals", 3, 1.0},
                                      {"depth", "depth", 1, 1.0},
                                      {"label", "classification", 4, 1.0}};

// Two 3x4 samples under data/: the first with every target, the second with
// its class only.
class ManifestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* folder : {"data/rgb", "data/seg", "data/normals", "data/depth"}) {
      fs::create_directories(dir.path() / folder);
    }
    torch::manual_seed(2);
    image = torch::randint(0, 256, {3, 4, 3}, torch::kByte);
    write_png(dir.file("data/rgb/0.png"), image);
    write_png(dir.file("data/rgb/1 b.png"), image.flip({1}).contiguous());
    labels = torch::randint(0, 5, {3, 4}, torch::kByte);
    labels[1][1] = 255;
    write_png(dir.file("data/seg/0.png"), labels);
    normals = torch::randint(0, 255, {3, 4, 3}, torch::kByte);
    normals[2][3].fill_(255);
    write_png(dir.file("data/normals/0.png"), normals);
    depth_mm = torch::randint(1, 65536, {3, 4}, torch::kLong);
    depth_mm[0][2] = 0;
    testing::write_png16(dir.file("data/depth/0.png"), depth_mm);
  }

  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(dir.file("data/" + name)) << text;
    return dir.file("data/" + name);
  }

  std::string error_of(const std::string& name, const std::string& text,
                       std::vector<TaskSpec> tasks = kTasks) const {
    try {
      Manifest(ManifestOptions().path(write(name, text)).tasks(tasks));
    } catch (const Error& error) {
      return error.what();
    }
    return "(no error)";
  }

  void expect_samples(const Manifest& data) const {
    ASSERT_EQ(data.size(), 2);
    const auto first = data.get(0);
    EXPECT_TRUE(torch::allclose(first.image, image.permute({2, 0, 1}).to(torch::kFloat) / 255.0));
    EXPECT_TRUE(torch::equal(first.targets.at("seg"), labels.to(torch::kLong)));
    const auto decoded = first.targets.at("normals");
    EXPECT_TRUE(decoded.select(2, 3).select(1, 2).eq(0).all().item<bool>());
    EXPECT_NEAR(decoded[1][0][0].item<float>(), normals[0][0][1].item<int64_t>() / 127.5 - 1, 1e-6);
    EXPECT_TRUE(torch::allclose(first.targets.at("depth")[0], depth_mm.to(torch::kFloat) * 0.001f,
                                1e-6, 0));
    EXPECT_EQ(first.targets.at("depth")[0][0][2].item<float>(), 0.0f);
    EXPECT_EQ(first.targets.at("label").item<int64_t>(), 2);

    const auto second = data.get(1);
    EXPECT_EQ(second.targets.size(), 1u);
    EXPECT_EQ(second.targets.at("label").item<int64_t>(), 0);
    EXPECT_TRUE(torch::allclose(second.image, first.image.flip({2})));
  }

  TempDir dir;
  torch::Tensor image, labels, normals, depth_mm;
};

TEST_F(ManifestTest, ReadsCsv) {
  const auto path = write("train.csv",
                          "image, seg,normals,depth,label\r\n"
                          "rgb/0.png,seg/0.png,normals/0.png,depth/0.png,2\r\n"
                          "\n"
                          "\"rgb/1 b.png\",,, ,0\n");
  expect_samples(Manifest(ManifestOptions().path(path).tasks(kTasks)));
}

TEST_F(ManifestTest, ReadsJsonl) {
  const auto path = write(
      "train.jsonl", R"({"image": "rgb/0.png", "seg": "seg/0.png", "normals": "normals/0.png",)"
                     R"( "depth": "depth/0.png", "label": 2})"
                     "\n\n"
                     R"({"label": 0, "image": "rgb/1 b.png", "seg": null})"
                     "\n");
  expect_samples(Manifest(ManifestOptions().path(path).tasks(kTasks)));
}

TEST_F(ManifestTest, DepthScaleAndSixteenBitLabels) {
  testing::write_png16(dir.file("data/seg/16.png"), labels.to(torch::kLong));
  const auto path = write("depth.csv", "image,depth,seg\nrgb/0.png,depth/0.png,seg/16.png\n");
  Manifest data(ManifestOptions().path(path).depth_scale(0.01).tasks(
      {{"depth", "depth", 1, 1.0}, {"seg", "segmentation", 5, 1.0}}));
  const auto sample = data.get(0);
  EXPECT_TRUE(
      torch::allclose(sample.targets.at("depth")[0], depth_mm.to(torch::kFloat) * 0.01f, 1e-6, 0));
  EXPECT_TRUE(torch::equal(sample.targets.at("seg"), labels.to(torch::kLong)));
}

TEST_F(ManifestTest, ErrorsNameFileLineAndColumn) {
  const std::string header = "image,seg,normals,depth,label\n";
  auto message = error_of("a.csv", "image,seg,normals,depth,lable\n");
  EXPECT_NE(message.find("a.csv': unknown column 'lable' (did you mean 'label'?)"),
            std::string::npos)
      << message;
  message = error_of("b.csv", "image,seg,normals,depth\n");
  EXPECT_NE(message.find("has no column 'label'"), std::string::npos) << message;
  message = error_of("c.csv", header + "rgb/0.png,,,,1\nrgb/0.png,,,,x\n");
  EXPECT_NE(message.find("c.csv' line 3, column 'label': expected a class index, got 'x'"),
            std::string::npos)
      << message;
  message = error_of("d.csv", header + "rgb/0.png,,,,4\n");
  EXPECT_NE(message.find("line 2, column 'label': class 4 is outside 0..3"), std::string::npos)
      << message;
  message = error_of("e.csv", header + "rgb/0.png,seg/9.png,,,1\n");
  EXPECT_NE(message.find("line 2, column 'seg': file"), std::string::npos) << message;
  EXPECT_NE(message.find("seg/9.png' not found"), std::string::npos) << message;
  message = error_of("f.csv", header + "rgb/0.png,,,1\n");
  EXPECT_NE(message.find("f.csv' line 2: 4 fields, but the header has 5"), std::string::npos)
      << message;
  message = error_of("g.csv", header + "\"rgb/0.png,,,,1\n");
  EXPECT_NE(message.find("g.csv' line 2: unterminated"), std::string::npos) << message;

  message = error_of("a.jsonl", "{\"image\": \"rgb/0.png\", \"label\": 1}\n{\"image\": \n");
  EXPECT_NE(message.find("a.jsonl' line 2: invalid JSON"), std::string::npos) << message;
  message = error_of("b.jsonl", "{\"image\": \"rgb/0.png\", \"label\": true}\n");
  EXPECT_NE(message.find("line 1, key 'label': expected a string, a number or null"),
            std::string::npos)
      << message;
  message = error_of("c.jsonl", "{\"image\": \"rgb/0.png\", \"label\": 1.5}\n", {kTasks[3]});
  EXPECT_NE(message.find("line 1, key 'label': expected a class index"), std::string::npos)
      << message;
  message = error_of("d.jsonl", "{\"image\": \"rgb/0.png\", \"seg\": 3, \"label\": 1}\n",
                     {kTasks[0], kTasks[3]});
  EXPECT_NE(message.find("line 1, key 'seg': expected a file path"), std::string::npos) << message;
  message = error_of("e.jsonl", "{\"image\": \"rgb/0.png\", \"sge\": \"seg/0.png\"}\n");
  EXPECT_NE(message.find("unknown key 'sge' (did you mean 'seg'?)"), std::string::npos) << message;
  message = error_of("m.txt", "");
  EXPECT_NE(message.find("unknown format '.txt'"), std::string::npos) << message;
}

TEST_F(ManifestTest, LabelValuesAreCheckedWhenRead) {
  auto bad = labels.clone();
  bad[0][0] = 7;
  write_png(dir.file("data/seg/0.png"), bad);
  const auto path = write("seg.csv", "image,seg\nrgb/0.png,seg/0.png\n");
  Manifest data(ManifestOptions().path(path).tasks({kTasks[0]}));
  try {
    data.get(0);
    FAIL() << "expected an Error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("seg/0.png' holds label 7"), std::string::npos)
        << error.what();
  }
}

TEST_F(ManifestTest, CsvWithAUtf8ByteOrderMarkIsRead) {
  const auto path = write("bom.csv",
                          "\xEF\xBB\xBFimage,seg,normals,depth,label\n"
                          "rgb/0.png,seg/0.png,normals/0.png,depth/0.png,2\n"
                          "rgb/1 b.png,,,,0\n");
  expect_samples(Manifest(ManifestOptions().path(path).tasks(kTasks)));
}

TEST_F(ManifestTest, DeeplyNestedJsonlIsAnErrorNotACrash) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const std::string message =
      error_of("deep.jsonl", "{\"image\": \"rgb/0.png\", \"label\": " + deep + "}\n");
  EXPECT_NE(message.find("deep.jsonl' line 1"), std::string::npos) << message.substr(0, 300);
  EXPECT_NE(message.find("nested deeper"), std::string::npos) << message.substr(0, 300);
  EXPECT_LT(message.size(), 400u) << "the value must not be dumped into the message";

  std::string wide = "[1";
  for (int i = 0; i < 2000; ++i) wide += ", 1";
  wide += "]";
  const std::string shallow =
      error_of("wide.jsonl", "{\"image\": \"rgb/0.png\", \"label\": " + wide + "}\n");
  EXPECT_NE(shallow.find("expected a string, a number or null"), std::string::npos) << shallow;
  EXPECT_LT(shallow.size(), 400u) << shallow;
}

}  // namespace
}  // namespace nddr
