#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "nddr/data/manifest.h"
#include "nddr/data/multi_fashion.h"
#include "nddr/data/nyuv2.h"
#include "nddr/data/registry.h"
#include "nddr/data/synthetic_scenes.h"
#include "nddr/io/image.h"
#include "nddr/util/error.h"
#include "support/temp_dir.h"

namespace nddr {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::string error_of(const DatasetSpec& spec) {
  try {
    make_dataset(spec);
  } catch (const Error& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(DatasetRegistry, HasTheBuiltInEntries) {
  for (const char* name :
       {"synthetic_scenes", "multi_fashion", "nyuv2_lists", "nyuv2_mtan", "manifest"}) {
    EXPECT_TRUE(dataset_registry().contains(name)) << name;
  }
}

TEST(DatasetRegistry, TyposNameTheClosestValidName) {
  auto message = error_of({"nyuv2_mtn", {}, {}});
  EXPECT_NE(message.find("unknown dataset 'nyuv2_mtn' (did you mean 'nyuv2_mtan'?)"),
            std::string::npos)
      << message;
  // The option typo is reported before the dataset looks for its files.
  message = error_of({"nyuv2_mtan", {{"roots", "/nonexistent"}}, {}});
  EXPECT_NE(message.find("dataset 'nyuv2_mtan': unknown option 'roots' (did you mean 'root'?)"),
            std::string::npos)
      << message;
  message = error_of({"synthetic_scenes", {{"hieght", "8"}}, {}});
  EXPECT_NE(message.find("unknown option 'hieght' (did you mean 'height'?)"), std::string::npos)
      << message;
}

TEST(DatasetRegistry, MalformedValuesNameTheOption) {
  auto message = error_of({"synthetic_scenes", {{"count", "ten"}}, {}});
  EXPECT_NE(message.find("option 'count': expected an integer, got 'ten'"), std::string::npos)
      << message;
  message = error_of({"synthetic_scenes", {{"seed", "-1"}}, {}});
  EXPECT_NE(message.find("option 'seed': expected a non-negative integer"), std::string::npos)
      << message;
  message = error_of({"synthetic_scenes", {{"noise", "0.1x"}}, {}});
  EXPECT_NE(message.find("option 'noise': expected a number"), std::string::npos) << message;
}

TEST(DatasetRegistry, SyntheticScenesReadsEveryOption) {
  const auto data = make_dataset({"synthetic_scenes",
                                  {{"height", "8"},
                                   {"width", "12"},
                                   {"count", "5"},
                                   {"seed", "9"},
                                   {"min_objects", "1"},
                                   {"max_objects", "2"},
                                   {"noise", "0"},
                                   {"classes", "3"},
                                   {"fov_degrees", "50"},
                                   {"seg_task", "semantic"},
                                   {"normals_task", "normal"},
                                   {"depth_task", ""}},
                                  {}});
  const auto* scenes = dynamic_cast<const SyntheticScenes*>(data.get());
  ASSERT_NE(scenes, nullptr);
  const auto& options = scenes->options();
  EXPECT_EQ(options.height(), 8);
  EXPECT_EQ(options.width(), 12);
  EXPECT_EQ(options.seed(), 9u);
  EXPECT_EQ(options.min_objects(), 1);
  EXPECT_EQ(options.max_objects(), 2);
  EXPECT_EQ(options.noise(), 0.0);
  EXPECT_EQ(options.classes(), 3);
  EXPECT_EQ(options.fov_degrees(), 50.0);
  EXPECT_EQ(data->size(), 5);
  const auto sample = data->get(0);
  EXPECT_EQ(sample.image.sizes(), (std::vector<int64_t>{3, 8, 12}));
  EXPECT_EQ(sample.targets.count("semantic"), 1u);
  EXPECT_EQ(sample.targets.count("normal"), 1u);
  EXPECT_EQ(sample.targets.count("depth"), 0u);
}

TEST(DatasetRegistry, MultiFashionReadsItsOptions) {
  TempDir dir;
  const auto message = error_of({"multi_fashion",
                                 {{"root", dir.path().string()},
                                  {"split", "test"},
                                  {"count", "3"},
                                  {"seed", "1"},
                                  {"left_task", "a"},
                                  {"right_task", "b"}},
                                 {}});
  // The error names the folder and split it was given.
  EXPECT_NE(message.find(dir.file("t10k-")), std::string::npos) << message;
}

TEST(DatasetRegistry, NyuV2EntriesReadTheirOptions) {
  TempDir dir;
  fs::create_directories(dir.path() / "img");
  write_png(dir.file("img/0.png"), torch::zeros({2, 3, 3}, torch::kByte));
  write_png(dir.file("img/0_seg.png"), torch::ones({2, 3}, torch::kByte));
  write_png(dir.file("img/0_n.png"), torch::full({2, 3, 3}, 128, torch::kByte));
  std::ofstream(dir.file("seg.txt")) << "img/0.png img/0_seg.png\n";
  std::ofstream(dir.file("n.txt")) << "img/0.png img/0_n.png\n";
  const auto data = make_dataset({"nyuv2_lists",
                                  {{"root", dir.path().string()},
                                   {"seg_list", dir.file("seg.txt")},
                                   {"normals_list", dir.file("n.txt")},
                                   {"seg_task", "s"},
                                   {"normals_task", "n"},
                                   {"classes", "2"}},
                                  {}});
  const auto tasks = data->tasks();
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0].name, "s");
  EXPECT_EQ(tasks[0].channels, 2);
  EXPECT_EQ(tasks[1].name, "n");
  EXPECT_EQ(data->get(0).targets.at("s").sum().item<int64_t>(), 6);

  const auto message = error_of({"nyuv2_mtan",
                                 {{"root", dir.path().string()},
                                  {"split", "val"},
                                  {"seg_task", "s"},
                                  {"depth_task", "d"},
                                  {"normals_task", ""}},
                                 {}});
  EXPECT_NE(message.find((dir.path() / "val" / "image").string()), std::string::npos) << message;
}

TEST(DatasetRegistry, ManifestTakesTheSpecTasks) {
  TempDir dir;
  write_png(dir.file("a.png"), torch::zeros({2, 2, 3}, torch::kByte));
  std::ofstream(dir.file("m.csv")) << "image,label\na.png,1\n";
  const std::vector<TaskSpec> tasks = {{"label", "classification", 3, 1.0}};
  const auto data =
      make_dataset({"manifest", {{"path", dir.file("m.csv")}, {"depth_scale", "0.01"}}, tasks});
  const auto* manifest = dynamic_cast<const Manifest*>(data.get());
  ASSERT_NE(manifest, nullptr);
  EXPECT_EQ(manifest->options().depth_scale(), 0.01);
  EXPECT_EQ(data->get(0).targets.at("label").item<int64_t>(), 1);
}

}  // namespace
}  // namespace nddr
