#include <gtest/gtest.h>

#include <algorithm>

#include "nddr/config/config.h"
#include "nddr/config/network_config.h"
#include "nddr/models/multitask_net.h"
#include "nddr/util/error.h"
#include "nddr/util/strings.h"

namespace nddr {
namespace {

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Config, DefaultsAreThePapersNetwork) {
  Config config;
  EXPECT_EQ(config.get_string("network.fusion"), "nddr");
  EXPECT_DOUBLE_EQ(config.get_double("train.lr_mult_fusion"), 100.0);
  const auto tasks = tasks_from_config(config);
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0].channels, 40);
  EXPECT_EQ(tasks[1].kind, "normals");
  EXPECT_DOUBLE_EQ(tasks[1].loss_weight, 20.0);
}

TEST(Config, NestedYamlAndOverridesSetKeys) {
  Config config;
  config.merge_yaml("network:\n  fusion: split\n  split_stage: 3\ntrain: {steps: 7}\n", "inline");
  config.apply_override("train.lr=0.5");
  config.apply_override("network.positions=[0, 2]");
  EXPECT_EQ(config.get_string("network.fusion"), "split");
  EXPECT_EQ(config.get_int("network.split_stage"), 3);
  EXPECT_EQ(config.get_int("train.steps"), 7);
  EXPECT_DOUBLE_EQ(config.get_double("train.lr"), 0.5);
  EXPECT_EQ(config.get_int_list("network.positions"), (std::vector<int64_t>{0, 2}));
}

TEST(Config, UnknownKeySuggestsTheClosest) {
  Config config;
  const std::string message =
      error_of([&] { config.merge_yaml("train:\n  stpes: 3\n", "my.yaml"); });
  EXPECT_NE(message.find("my.yaml"), std::string::npos) << message;
  EXPECT_NE(message.find("train.stpes"), std::string::npos) << message;
  EXPECT_NE(message.find("did you mean 'train.steps'"), std::string::npos) << message;
  EXPECT_NE(error_of([&] { config.apply_override("network.fusoin=nddr"); }).find("network.fusion"),
            std::string::npos);
}

// The fusion methods come from their registry: the help and the error list them.
TEST(Config, FusionMethodIsCheckedAgainstTheRegistry) {
  Config config;
  const std::string message = error_of([&] { config.apply_override("network.fusion=nddrr"); });
  EXPECT_NE(message.find("network.fusion"), std::string::npos) << message;
  EXPECT_NE(message.find("did you mean 'nddr'"), std::string::npos) << message;
  const std::string names = join(fusion_methods(), ", ");
  EXPECT_NE(message.find(names), std::string::npos) << message;
  const auto& schema = config_schema();
  const auto fusion = std::find_if(schema.begin(), schema.end(), [](const KeySpec& spec) {
    return spec.key == "network.fusion";
  });
  ASSERT_NE(fusion, schema.end());
  EXPECT_EQ(fusion->help, names);
  EXPECT_EQ(config.get_string("network.fusion"), "nddr");
}

TEST(Config, BadValueNamesKeyAndValue) {
  Config config;
  const std::string message = error_of([&] { config.apply_override("train.steps=many"); });
  EXPECT_NE(message.find("train.steps"), std::string::npos) << message;
  EXPECT_NE(message.find("many"), std::string::npos) << message;
  EXPECT_FALSE(error_of([&] { config.apply_override("network.batch_norm=maybe"); }).empty());
  EXPECT_FALSE(error_of([&] { config.apply_override("no_equals_sign"); }).empty());
  EXPECT_EQ(config.get_int("train.steps"), 1000) << "a rejected value must not be stored";
}

TEST(Config, TaskListIsValidated) {
  Config config;
  EXPECT_NE(error_of([&] {
              config.apply_override("tasks=[{name: a, kind: segmentaton}]");
            }).find("segmentation"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              config.apply_override("tasks=[{name: a, kind: depth, chanels: 1}]");
            }).find("channels"),
            std::string::npos);
  config.apply_override(
      "tasks=[{name: d, kind: depth}, {name: c, kind: classification, "
      "channels: 10}]");
  const auto tasks = tasks_from_config(config);
  EXPECT_EQ(tasks[0].channels, 1);
  EXPECT_EQ(tasks[1].channels, 10);
}

TEST(Config, SavedYamlReloadsToTheSameValues) {
  Config config;
  config.apply_override("train.steps=42");
  config.apply_override("data.train.options={count: 5, seed: 3}");
  Config reloaded;
  reloaded.merge_yaml(config.to_yaml(), "saved");
  EXPECT_EQ(reloaded.get_int("train.steps"), 42);
  EXPECT_EQ(reloaded.get_string_map("data.train.options"),
            (std::vector<std::pair<std::string, std::string>>{{"count", "5"}, {"seed", "3"}}));
  EXPECT_EQ(reloaded.to_yaml(), config.to_yaml());
}

TEST(Config, OverrideSetsOneEntryOfAMap) {
  Config config;
  config.apply_override("data.train.options={count: 5, seed: 3}");
  config.apply_override("data.train.options.count=16");
  config.apply_override("data.test.options.height=32");
  EXPECT_EQ(config.get_string_map("data.train.options"),
            (std::vector<std::pair<std::string, std::string>>{{"count", "16"}, {"seed", "3"}}));
  EXPECT_EQ(config.get_string_map("data.test.options"),
            (std::vector<std::pair<std::string, std::string>>{{"height", "32"}}));
  const std::string message =
      error_of([&] { config.apply_override("data.train.options.count=[1, 2]"); });
  EXPECT_NE(message.find("data.train.options.count"), std::string::npos) << message;
  EXPECT_EQ(config.get_string_map("data.train.options").front().second, "16");
  EXPECT_FALSE(error_of([&] { config.apply_override("train.lr.x=1"); }).empty());
}

TEST(Config, CopiesAreIndependent) {
  Config original;
  Config copy = original;
  copy.apply_override("train.steps=5");
  Config assigned;
  assigned = original;
  assigned.apply_override("network.fusion=split");
  EXPECT_EQ(original.get_int("train.steps"), 1000);
  EXPECT_EQ(original.get_string("network.fusion"), "nddr");
  EXPECT_EQ(copy.get_int("train.steps"), 5);
  EXPECT_EQ(assigned.get_string("network.fusion"), "split");
}

}  // namespace
}  // namespace nddr
