#pragma once
// What the training tests share: a two-task network small enough to train in
// a second, synthetic scenes, and a run directory per test.

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "nddr/data/synthetic_scenes.h"
#include "nddr/models/multitask_net.h"

namespace nddr::testing {

/// Segmentation (6 classes) and normals (loss weight 5) on a 1/16-width VGG
/// with 16-channel heads and no dropout, fused by `fusion` (no further
/// fusion options: split and the like set theirs).
inline NetworkOptions tiny_network(const std::string& fusion) {
  NetworkOptions options;
  options.backbone.width = 1.0 / 16;
  options.tasks = {{"seg", "segmentation", 6, 1.0}, {"normals", "normals", 3, 5.0}};
  options.fusion.method = fusion;
  options.head_hidden = 16;
  options.head_dilation = 2;
  options.head_dropout = 0.0;
  return options;
}

/// `count` synthetic scenes of side x side pixels drawn from `seed`.
inline std::shared_ptr<const Dataset> tiny_scenes(int64_t count, uint64_t seed, int64_t side = 32) {
  return std::make_shared<SyntheticScenes>(
      SyntheticScenesOptions().height(side).width(side).count(count).seed(seed));
}

/// A path under the temp folder named after the running test and `name`, so
/// that ctest's parallel test processes never share one; removed if present
/// (the trainer creates its run directory).
inline std::filesystem::path fresh_dir(const std::string& name) {
  const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  const auto dir = std::filesystem::temp_directory_path() / ("nddr_train_" + test + "_" + name);
  std::filesystem::remove_all(dir);
  return dir;
}

}  // namespace nddr::testing
