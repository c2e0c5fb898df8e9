#include <gtest/gtest.h>

#include <cmath>

#include "nddr/train/optimizer.h"
#include "nddr/train/schedule.h"
#include "nddr/util/error.h"

namespace nddr {
namespace {

MultiTaskNet tiny_nddr_net() {
  NetworkOptions options;
  options.backbone.width = 1.0 / 16;
  options.tasks = {{"seg", "segmentation", 5, 1.0}, {"normals", "normals", 3, 20}};
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
  auto sgd = make_optimizer(*net, OptimizerOptions().lr(0.01).weight_decay(1e-4), groups);
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

// The formulas of schedule.h, written out again for W warm-up steps.
double expected_factor(const ScheduleOptions& options, int64_t step, int64_t steps) {
  const int64_t warmup = options.warmup_steps();
  if (step < warmup) return (step + 1.0) / warmup;
  const double t = double(step - warmup) / double(steps - warmup);
  if (options.name() == "poly") return std::pow(1.0 - t, options.power());
  if (options.name() == "cosine") return 0.5 * (1.0 + std::cos(3.14159265358979323846 * t));
  if (options.name() == "step") {
    return std::pow(options.gamma(), std::floor(double(step - warmup) / options.step_size()));
  }
  return 1.0;
}

TEST(Schedule, EveryScheduleScalesEachGroupsOwnRateByItsFormula) {
  auto net = tiny_nddr_net();
  std::vector<ParamGroupInfo> groups;
  auto optimizer = make_optimizer(*net, OptimizerOptions().lr(0.01), groups);
  const int64_t steps = 100;
  for (const std::string name : {"poly", "cosine", "step", "constant"}) {
    for (int64_t warmup : {0, 10}) {
      const auto options =
          ScheduleOptions().name(name).power(0.9).step_size(30).gamma(0.5).warmup_steps(warmup);
      validate(options, steps);
      for (int64_t step : {0, 5, 9, 10, 11, 39, 40, 50, 70, 99}) {
        apply_schedule(*optimizer, groups, options, step, steps);
        const double factor = expected_factor(options, step, steps);
        for (size_t i = 0; i < groups.size(); ++i) {
          EXPECT_NEAR(group_lr(*optimizer, i), groups[i].base_lr * factor, 1e-15)
              << name << " warmup " << warmup << " step " << step << " "
              << to_string(groups[i].role);
        }
      }
      EXPECT_DOUBLE_EQ(schedule_factor(options, steps, steps), 0.0);
    }
  }
  // Spot values worked by hand.
  EXPECT_DOUBLE_EQ(schedule_factor(ScheduleOptions().name("poly"), 0, 100), 1.0);
  EXPECT_NEAR(schedule_factor(ScheduleOptions().name("cosine"), 50, 100), 0.5, 1e-15);
  EXPECT_NEAR(schedule_factor(ScheduleOptions().name("cosine").warmup_steps(20), 60, 100), 0.5,
              1e-15);
  EXPECT_DOUBLE_EQ(
      schedule_factor(ScheduleOptions().name("step").step_size(30).gamma(0.5), 60, 100), 0.25);
  EXPECT_DOUBLE_EQ(schedule_factor(ScheduleOptions().name("constant").warmup_steps(4), 1, 100),
                   0.5);
}

TEST(Schedule, BadOptionsNameTheKey) {
  auto message = [](const ScheduleOptions& options) {
    try {
      validate(options, 100);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(message(ScheduleOptions().name("cosin")).find("did you mean 'cosine'"),
            std::string::npos)
      << message(ScheduleOptions().name("cosin"));
  EXPECT_NE(message(ScheduleOptions().name("step")).find("train.step_size"), std::string::npos);
  EXPECT_NE(message(ScheduleOptions().warmup_steps(100)).find("train.warmup_steps"),
            std::string::npos);
}

TEST(Optimizer, AdamAndAdamWKeepEachGroupsRateAndDecay) {
  auto net = tiny_nddr_net();
  for (const std::string name : {"adam", "adamw"}) {
    std::vector<ParamGroupInfo> groups;
    auto optimizer = make_optimizer(
        *net, OptimizerOptions().name(name).lr(1e-4).weight_decay(1e-5).beta2(0.99).eps(1e-6),
        groups);
    ASSERT_EQ(optimizer->param_groups().size(), groups.size());
    for (size_t i = 0; i < groups.size(); ++i) {
      const auto& group_options = optimizer->param_groups()[i].options();
      EXPECT_DOUBLE_EQ(group_options.get_lr(), groups[i].base_lr);
      double decay = 0, beta2 = 0, eps = 0;
      if (name == "adam") {
        const auto& adam = static_cast<const torch::optim::AdamOptions&>(group_options);
        decay = adam.weight_decay(), beta2 = std::get<1>(adam.betas()), eps = adam.eps();
      } else {
        const auto& adamw = static_cast<const torch::optim::AdamWOptions&>(group_options);
        decay = adamw.weight_decay(), beta2 = std::get<1>(adamw.betas()), eps = adamw.eps();
      }
      EXPECT_DOUBLE_EQ(decay, groups[i].weight_decay) << name << " " << to_string(groups[i].role);
      EXPECT_DOUBLE_EQ(beta2, 0.99);
      EXPECT_DOUBLE_EQ(eps, 1e-6);
    }
    EXPECT_DOUBLE_EQ(group_of(groups, ParamRole::kFusionWeight).base_lr, 1e-2);
    EXPECT_DOUBLE_EQ(group_of(groups, ParamRole::kNoDecay).weight_decay, 0.0);
  }
}

TEST(Optimizer, ExtraParametersGetTheirOwnUndecayedGroup) {
  auto net = tiny_nddr_net();
  std::vector<ParamGroupInfo> groups;
  const torch::Tensor log_variances = torch::zeros({2}, torch::requires_grad());
  auto optimizer =
      make_optimizer(*net, OptimizerOptions().name("adam").lr(0.01), groups, {log_variances});
  ASSERT_EQ(groups.back().owner, "weighting");
  EXPECT_DOUBLE_EQ(groups.back().base_lr, 0.01);
  EXPECT_DOUBLE_EQ(groups.back().weight_decay, 0.0);
  EXPECT_TRUE(optimizer->param_groups().back().params()[0].is_same(log_variances));
}

TEST(Optimizer, UnknownOptimizerIsAnErrorWithASuggestion) {
  auto net = tiny_nddr_net();
  std::vector<ParamGroupInfo> groups;
  try {
    make_optimizer(*net, OptimizerOptions().name("adamm"), groups);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'adam"), std::string::npos) << e.what();
  }
  EXPECT_THROW(make_optimizer(*net, OptimizerOptions().name("adam").beta1(1.0), groups), Error);
}

TEST(Optimizer, FusionWeightDecayMultiplier) {
  auto net = tiny_nddr_net();
  std::vector<ParamGroupInfo> groups;
  make_optimizer(*net, OptimizerOptions().weight_decay(1e-3).fusion_weight_decay_mult(0.1), groups);
  EXPECT_NEAR(group_of(groups, ParamRole::kFusionWeight).weight_decay, 1e-4, 1e-18);
}

}  // namespace
}  // namespace nddr
