#pragma once
// The tiny three-task network and synthetic scenes that the two-rank tests
// train, once for every test file of this folder.

#include <memory>
#include <string>

#include "nddr/data/synthetic_scenes.h"
#include "nddr/models/multitask_net.h"

namespace nddr::testing {

inline NetworkOptions small_network(const std::string& fusion = "nddr") {
  NetworkOptions options;
  options.backbone.width = 1.0 / 16;
  options.tasks = {
      {"seg", "segmentation", 4, 1.0}, {"normals", "normals", 3, 5.0}, {"depth", "depth", 1, 1.0}};
  options.fusion.method = fusion;
  if (fusion == "split") options.fusion.split_stage = 3;
  options.head_hidden = 16;
  options.head_dilation = 2;
  options.head_dropout = 0.0;  // dropout masks depend on the slice a rank draws them for
  return options;
}

inline std::shared_ptr<const Dataset> scenes(int64_t count, uint64_t seed) {
  return std::make_shared<SyntheticScenes>(
      SyntheticScenesOptions().height(24).width(24).count(count).classes(2).seed(seed));
}

}  // namespace nddr::testing
