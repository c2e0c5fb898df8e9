#include <gtest/gtest.h>

#include <fstream>

#include "nddr/experiment/experiment.h"
#include "nddr/util/error.h"
#include "support/temp_dir.h"

namespace nddr {
namespace {

const char* kGrid = R"(
name: grid test
config: {train: {steps: 7}}
set: [network.width=0.5]
output_dir: out
seeds: [3, 4]
reference: single
methods:
  - {label: single, set: [network.fusion=single]}
  - {label: split@2, set: [network.fusion=split, network.split_stage=2]}
  - label: nddr
    set: [network.fusion=nddr, "train.init_from=[{output_dir}/single-s{seed}/weights.safetensors]"]
ablations:
  - name: lr mult
    method: nddr
    seeds: [3]
    log_x: true
    values:
      - {label: x1, x: 1, set: [train.lr_mult_fusion=1]}
      - {label: x10, x: 10, set: [train.lr_mult_fusion=10]}
)";

std::string error_of(const std::string& text) {
  try {
    parse_experiment(text, "exp.yaml", ".");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Experiment, ParsesBaseInlineConfigAndMethods) {
  const auto spec = parse_experiment(kGrid, "exp.yaml", ".");
  EXPECT_EQ(spec.name, "grid test");
  EXPECT_EQ(spec.base.get_int("train.steps"), 7);
  EXPECT_DOUBLE_EQ(spec.base.get_double("network.width"), 0.5);
  EXPECT_EQ(spec.output_dir, "out");
  EXPECT_EQ(spec.report_dir, "out/report");
  EXPECT_EQ(spec.seeds, (std::vector<int64_t>{3, 4}));
  ASSERT_EQ(spec.methods.size(), 3u);
  EXPECT_EQ(spec.methods[1].label, "split@2");
  ASSERT_EQ(spec.ablations.size(), 1u);
  EXPECT_TRUE(spec.ablations[0].log_x);
  EXPECT_EQ(spec.ablations[0].seeds, (std::vector<int64_t>{3}));
  EXPECT_DOUBLE_EQ(*spec.ablations[0].values[1].x, 10.0);
}

TEST(Experiment, BaseFileIsRelativeToTheExperimentFile) {
  testing::TempDir dir("nddr_experiment_base_");
  std::ofstream(dir.str() + "/base.yaml") << "train: {steps: 11}\n";
  std::ofstream(dir.str() + "/exp.yaml") << "name: x\nbase: base.yaml\nseeds: [0]\n"
                                         << "methods: [{label: single}]\n";
  EXPECT_EQ(load_experiment(dir.str() + "/exp.yaml").base.get_int("train.steps"), 11);
}

TEST(Experiment, GridIsMethodsTimesSeedsThenAblations) {
  const auto spec = parse_experiment(kGrid, "exp.yaml", ".");
  const auto runs = expand_runs(spec);
  std::vector<std::string> names;
  for (const auto& run : runs) names.push_back(run.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"single-s3", "single-s4", "split_2-s3", "split_2-s4",
                                      "nddr-s3", "nddr-s4", "lr_mult-x1-s3", "lr_mult-x10-s3"}));
  EXPECT_EQ(runs[6].row, "lr mult: x1");
  EXPECT_EQ(runs[6].ablation, "lr mult");
  EXPECT_EQ(runs[0].ablation, "");

  const Config nddr = run_config(spec, runs[5]);
  EXPECT_EQ(nddr.get_string("network.fusion"), "nddr");
  EXPECT_EQ(nddr.get_string_list("train.init_from"),
            (std::vector<std::string>{"out/single-s4/weights.safetensors"}));
  EXPECT_EQ(nddr.get_int("seed"), 4);
  EXPECT_EQ(nddr.get_string("name"), "nddr-s4");
  EXPECT_EQ(nddr.get_string("output_dir"), "out");

  // An ablation value goes on top of its method's overrides.
  const Config ablated = run_config(spec, runs[7]);
  EXPECT_EQ(ablated.get_string("network.fusion"), "nddr");
  EXPECT_DOUBLE_EQ(ablated.get_double("train.lr_mult_fusion"), 10.0);
  EXPECT_EQ(ablated.get_int("train.steps"), 7);

  // Building run configs leaves the base and the other runs untouched.
  EXPECT_EQ(spec.base.get_string("network.fusion"), "nddr");  // the schema default
  EXPECT_EQ(spec.base.get_string("name"), "nddr");
  EXPECT_DOUBLE_EQ(run_config(spec, runs[6]).get_double("train.lr_mult_fusion"), 1.0);
  EXPECT_EQ(run_config(spec, runs[0]).get_int("network.split_stage"), 0);
  EXPECT_DOUBLE_EQ(run_config(spec, runs[0]).get_double("train.lr_mult_fusion"), 100.0);
}

TEST(Experiment, AblationValueEqualToItsMethodReusesTheMethodsRun) {
  const auto spec = parse_experiment(
      "name: x\nseeds: [0]\nmethods: [{label: nddr, set: [network.fusion=nddr]}]\n"
      "ablations: [{name: lr, method: nddr, values: [{label: x1, set: [train.lr_mult_fusion=1]},\n"
      "  {label: x100, set: [train.lr_mult_fusion=100]}]}]\n",
      "exp.yaml", ".");
  const auto runs = expand_runs(spec);
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[1].name, "lr-x1-s0");
  EXPECT_EQ(runs[2].name, "nddr-s0");  // 100 is the default multiplier
  EXPECT_EQ(runs[2].row, "lr: x100");
  EXPECT_EQ(run_config(spec, runs[2]).get_string("name"), "nddr-s0");
}

TEST(Experiment, UnknownKeySuggestsTheClosest) {
  const std::string message = error_of("name: x\nseed: [0]\nmethods: [{label: a}]\n");
  EXPECT_NE(message.find("exp.yaml"), std::string::npos) << message;
  EXPECT_NE(message.find("'seed'"), std::string::npos) << message;
  EXPECT_NE(message.find("seeds"), std::string::npos) << message;

  const std::string method = error_of("name: x\nseeds: [0]\nmethods: [{label: a, sets: []}]\n");
  EXPECT_NE(method.find("methods[0].sets"), std::string::npos) << method;
}

TEST(Experiment, BadOverridesFailWhenTheFileIsRead) {
  const std::string message =
      error_of("name: x\nseeds: [0]\nmethods: [{label: a, set: [network.fuson=nddr]}]\n");
  EXPECT_NE(message.find("methods[0]"), std::string::npos) << message;
  EXPECT_NE(message.find("network.fusion"), std::string::npos) << message;
}

TEST(Experiment, StructuralErrors) {
  EXPECT_NE(error_of("name: x\nmethods: [{label: a}]\n").find("seeds"), std::string::npos);
  EXPECT_NE(error_of("name: x\nseeds: [0]\n").find("methods"), std::string::npos);
  EXPECT_NE(error_of("name: x\nseeds: [0, 0]\nmethods: [{label: a}]\n").find("twice"),
            std::string::npos);
  EXPECT_NE(error_of("name: x\nseeds: [0]\nmethods: [{label: a}, {label: a}]\n").find("twice"),
            std::string::npos);
  EXPECT_NE(error_of("name: x\nseeds: [0]\nreference: singel\nmethods: [{label: single}]\n")
                .find("did you mean"),
            std::string::npos);
  EXPECT_NE(error_of("name: x\nseeds: [0]\nmethods: [{label: a}]\n"
                     "ablations: [{name: b, method: c, values: [{label: v}]}]\n")
                .find("'c'"),
            std::string::npos);
}

TEST(Experiment, SlugKeepsSafeCharacters) {
  EXPECT_EQ(slug("split@3"), "split_3");
  EXPECT_EQ(slug("init (0.9, 0.1)"), "init__0.9__0.1_");
  EXPECT_EQ(slug("nddr_shortcut-x.1"), "nddr_shortcut-x.1");
}

}  // namespace
}  // namespace nddr
