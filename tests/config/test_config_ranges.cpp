// Every numeric key of the schema is range-checked when a config is read:
// these tests walk the schema, so a key added later is covered too.

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "nddr/config/config.h"
#include "nddr/util/error.h"

namespace nddr {
namespace {

bool is_numeric(ValueType type) {
  return type == ValueType::kInt || type == ValueType::kDouble || type == ValueType::kIntList ||
         type == ValueType::kDoubleList;
}

bool is_list(ValueType type) {
  return type == ValueType::kIntList || type == ValueType::kDoubleList;
}

bool is_integer(ValueType type) { return type == ValueType::kInt || type == ValueType::kIntList; }

std::string yaml_number(double value, bool integer) {
  std::ostringstream out;
  out.precision(17);
  if (integer) {
    out << static_cast<int64_t>(value);
  } else {
    out << value;
  }
  return out.str();
}

// Values just outside the key's range, as YAML text.
std::vector<std::string> out_of_range_values(const KeySpec& spec) {
  const Range range = effective_range(spec);
  const bool integer = is_integer(spec.type);
  std::vector<std::string> values;
  // seed takes any 64-bit integer: bounds beyond 1e15 are the type's own.
  if (std::isfinite(range.min) && std::abs(range.min) < 1e15) {
    const double below = range.min_open
                             ? range.min
                             : (integer ? range.min - 1 : range.min - std::abs(range.min) - 1);
    values.push_back(yaml_number(below, integer));
  }
  if (std::isfinite(range.max) && std::abs(range.max) < 1e15) {
    const double beyond = range.max_open
                              ? range.max
                              : (integer ? range.max + 1 : range.max + std::abs(range.max) + 1);
    values.push_back(yaml_number(beyond, integer));
  }
  if (!integer) {
    values.push_back(".nan");
    values.push_back(".inf");
    values.push_back("-.inf");
  }
  if (is_list(spec.type)) {
    for (auto& value : values) value = "[" + value + "]";
  }
  return values;
}

TEST(ConfigRanges, EveryNumericKeyHasFiniteBounds) {
  for (const auto& spec : config_schema()) {
    if (!is_numeric(spec.type) || spec.key == "seed") continue;
    const Range range = effective_range(spec);
    EXPECT_TRUE(std::isfinite(range.min) && std::isfinite(range.max)) << spec.key;
  }
}

TEST(ConfigRanges, EveryDefaultIsInRange) {
  for (const auto& spec : config_schema()) {
    EXPECT_EQ(value_problem(spec, YAML::Load(spec.default_value)), "") << spec.key;
  }
}

TEST(ConfigRanges, EveryBoundedKeyRejectsValuesOutOfRangeNamingIt) {
  int64_t checked = 0;
  for (const auto& spec : config_schema()) {
    if (!is_numeric(spec.type)) continue;
    for (const auto& value : out_of_range_values(spec)) {
      Config config;
      const std::string before = config.to_yaml();
      try {
        config.apply_override(spec.key + "=" + value);
        ADD_FAILURE() << spec.key << "=" << value << " was accepted";
      } catch (const Error& e) {
        const std::string message = e.what();
        EXPECT_NE(message.find("'" + spec.key + "'"), std::string::npos) << message;
        EXPECT_NE(message.find("expected"), std::string::npos) << message;
      }
      EXPECT_EQ(config.to_yaml(), before) << "a rejected " << spec.key << " was stored";
      ++checked;
    }
  }
  EXPECT_GT(checked, 60);
}

TEST(ConfigRanges, BoundsThemselvesAreAccepted) {
  for (const auto& spec : config_schema()) {
    if (!is_numeric(spec.type)) continue;
    const Range range = effective_range(spec);
    for (const auto& [bound, open] :
         {std::pair{range.min, range.min_open}, std::pair{range.max, range.max_open}}) {
      if (!std::isfinite(bound) || open || std::abs(bound) > 1e15) continue;
      std::string value = yaml_number(bound, is_integer(spec.type));
      if (is_list(spec.type)) value = "[" + value + "]";
      Config config;
      EXPECT_NO_THROW(config.apply_override(spec.key + "=" + value)) << spec.key << "=" << value;
    }
  }
}

TEST(ConfigRanges, YamlFilesAreCheckedLikeOverrides) {
  Config config;
  try {
    config.merge_yaml("train:\n  lr: .nan\n", "my.yaml");
    FAIL() << "lr NaN accepted";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("my.yaml"), std::string::npos) << message;
    EXPECT_NE(message.find("train.lr"), std::string::npos) << message;
  }
  EXPECT_THROW(config.merge_yaml("train: {momentum: 1.0}", "m.yaml"), Error);
  EXPECT_THROW(config.merge_yaml("threads: 100000", "t.yaml"), Error);
  EXPECT_THROW(config.merge_yaml("data: {workers: 100000}", "w.yaml"), Error);
  EXPECT_THROW(config.merge_yaml("train: {checkpoint_every: -1}", "c.yaml"), Error);
  EXPECT_NO_THROW(config.merge_yaml("threads: 0\ndata: {workers: 0}", "auto.yaml"));
}

TEST(ConfigRanges, RunNameMustBeAPathName) {
  for (const char* bad : {"name=", "name=.", "name=..", "name=''", "output_dir=''"}) {
    Config config;
    EXPECT_THROW(config.apply_override(bad), Error) << bad;
  }
  Config config;
  EXPECT_NO_THROW(config.apply_override("name=run-1"));
}

TEST(ConfigRanges, NanPolicyIsStopOrSkip) {
  Config config;
  EXPECT_NO_THROW(config.apply_override("train.nan_policy=skip"));
  EXPECT_THROW(config.apply_override("train.nan_policy=ignore"), Error);
}

TEST(ConfigRanges, TaskFieldsAreBounded) {
  Config config;
  EXPECT_THROW(config.apply_override("tasks=[{name: a, kind: segmentation, channels: 0}]"), Error);
  EXPECT_THROW(config.apply_override(
                   "tasks=[{name: a, kind: segmentation, channels: 2, loss_weight: .nan}]"),
               Error);
  EXPECT_NO_THROW(
      config.apply_override("tasks=[{name: a, kind: segmentation, channels: 2, loss_weight: 2}]"));
}

TEST(Config, DirectoryAsConfigFileIsAnError) {
  Config config;
  try {
    config.merge_file(NDDR_SOURCE_DIR);
    FAIL() << "a directory was read as a config";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is a directory"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace nddr
