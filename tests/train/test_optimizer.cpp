#include <gtest/gtest.h>

#include <cmath>

#include "nddr/train/optimizer.h"

namespace nddr {
namespace {

MultiTaskNet tiny_nddr_net() {
  NetworkOptions options;
  options.backbone.width = 1.0 / 16;
  options.tasks = {{"seg", TaskKind::kSegmentation, 5, 1.0},
                   {"normals", TaskKind::kNormals, 3, 20}};
  options.fusion.method = "nddr";
  options.head_hidden = 16;
  return MultiTaskNet(options);
}

const ParamGroupInfo& group_of(const std::vector<ParamGroupInfo>& groups, ParamRole role) {
  for (const auto& group : groups) {
    if (group.role == role) return group;
  }
  throw std::runtime_error("no group for role " + to_string(role));
}

TEST(Optimizer, GroupsCarryThePapersMultipliersAndDecay) {
  auto net = tiny_nddr_net();
  std::vector<ParamGroupInfo> groups;
  auto sgd = make_sgd(*net, OptimizerOptions().lr(0.01).weight_decay(1e-4), groups);
  ASSERT_EQ(groups.size(), 6u);
  EXPECT_DOUBLE_EQ(group_of(groups, ParamRole::kWeight).base_lr, 0.01);
  EXPECT_DOUBLE_EQ(group_of(groups, ParamRole::kFusionWeight).base_lr, 1.0);
  EXPECT_DOUBLE_EQ(group_of(groups, ParamRole::kFusionNoDecay).base_lr, 1.0);
  EXPECT_DOUBLE_EQ(group_of(groups, ParamRole::kLastWeight).base_lr, 0.1);
  EXPECT_DOUBLE_EQ(group_of(groups, ParamRole::kLastBias).base_lr, 0.2);
  EXPECT_DOUBLE_EQ(group_of(groups, ParamRole::kWeight).weight_decay, 1e-4);
  EXPECT_DOUBLE_EQ(group_of(groups, ParamRole::kNoDecay).weight_decay, 0.0);
  EXPECT_DOUBLE_EQ(group_of(groups, ParamRole::kFusionNoDecay).weight_decay, 0.0);
  // Five NDDR layers x 2 tasks: one conv weight each.
  EXPECT_EQ(group_of(groups, ParamRole::kFusionWeight).num_tensors, 10);
  // Every trainable parameter is in exactly one group.
  int64_t total = 0;
  for (const auto& group : groups) total += group.num_tensors;
  EXPECT_EQ(total, static_cast<int64_t>(net->parameters().size()));
  EXPECT_EQ(sgd->param_groups().size(), groups.size());
}

TEST(Optimizer, PolyScheduleScalesEachGroupsOwnRate) {
  auto net = tiny_nddr_net();
  std::vector<ParamGroupInfo> groups;
  auto sgd = make_sgd(*net, OptimizerOptions().lr(0.01), groups);
  const int64_t steps = 100;
  for (int64_t step : {0, 10, 50, 99}) {
    apply_poly_schedule(*sgd, groups, step, steps, 0.9);
    const double factor = std::pow(1.0 - step / 100.0, 0.9);
    for (size_t i = 0; i < groups.size(); ++i) {
      EXPECT_NEAR(group_lr(*sgd, i), groups[i].base_lr * factor, 1e-15)
          << to_string(groups[i].role);
    }
  }
  EXPECT_DOUBLE_EQ(poly_factor(100, 100, 0.9), 0.0);
  EXPECT_DOUBLE_EQ(poly_factor(0, 100, 0.9), 1.0);
}

TEST(Optimizer, FusionWeightDecayMultiplier) {
  auto net = tiny_nddr_net();
  std::vector<ParamGroupInfo> groups;
  make_sgd(*net, OptimizerOptions().weight_decay(1e-3).fusion_weight_decay_mult(0.1), groups);
  EXPECT_NEAR(group_of(groups, ParamRole::kFusionWeight).weight_decay, 1e-4, 1e-18);
}

}  // namespace
}  // namespace nddr
