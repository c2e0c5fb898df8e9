#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "nddr/experiment/runner.h"
#include "nddr/util/error.h"
#include "support/temp_dir.h"

namespace nddr {
namespace {

// Two tiny runs: a few seconds in all.
std::string tiny_experiment(const std::string& dir) {
  return "name: tiny\nseeds: [0]\noutput_dir: " + dir +
         "\n"
         "config:\n"
         "  threads: 1\n"
         "  network: {width: 0.125, head_hidden: 8, head_dilation: 1, head_dropout: 0}\n"
         "  tasks:\n"
         "    - {name: seg, kind: segmentation, channels: 4, loss_weight: 1}\n"
         "    - {name: normals, kind: normals, channels: 3, loss_weight: 1}\n"
         "  data:\n"
         "    train: {dataset: synthetic_scenes, options: {count: 4, height: 16, width: 16, "
         "classes: 2}}\n"
         "    test: {dataset: synthetic_scenes, options: {count: 2, height: 16, width: 16, "
         "classes: 2, seed: 5}}\n"
         "    workers: 1\n"
         "  train: {steps: 2, batch_size: 2, log_every: 1}\n"
         "  eval: {batch_size: 2}\n"
         "methods: [{label: single, set: [network.fusion=single]},\n"
         "          {label: nddr, set: [network.fusion=nddr,\n"
         "           'train.init_from=[{output_dir}/single-s{seed}/weights.safetensors]']}]\n";
}

class Recorder : public ExperimentObserver {
 public:
  void on_run_start(size_t index, size_t total, const RunSpec& run, RunState state) override {
    starts.push_back(run.name + "@" + std::to_string(index) + "/" + std::to_string(total));
    states.push_back(state);
  }
  TrainObserver& train_observer() override { return silent; }
  void on_run_end(const RunSpec& run, const RunResults&, double) override {
    ended.push_back(run.name);
  }
  TrainObserver silent;
  std::vector<std::string> starts, ended;
  std::vector<RunState> states;
};

TEST(Runner, RunStateFollowsTheFilesOfTheRunDirectory) {
  testing::TempDir dir("nddr_experiment_state_");
  EXPECT_EQ(run_state(dir.str() + "/missing"), RunState::kFresh);
  std::ofstream(dir.str() + "/checkpoint.pt") << "x";
  EXPECT_EQ(run_state(dir.str()), RunState::kResumable);
  std::ofstream(dir.str() + "/results.json") << "{}";
  EXPECT_EQ(run_state(dir.str()), RunState::kFinished);
}

TEST(Runner, TrainsInGridOrderThenSkipsFinishedRuns) {
  testing::TempDir dir("nddr_experiment_runner_");
  const auto spec = parse_experiment(tiny_experiment(dir.str()), "tiny.yaml", ".");
  Recorder first;
  run_experiment(spec, first);
  EXPECT_EQ(first.starts, (std::vector<std::string>{"single-s0@0/2", "nddr-s0@1/2"}));
  EXPECT_EQ(first.ended, (std::vector<std::string>{"single-s0", "nddr-s0"}));
  const std::string results = dir.str() + "/nddr-s0/results.json";
  ASSERT_TRUE(std::filesystem::exists(results));
  const auto written = std::filesystem::last_write_time(results);

  Recorder second;
  run_experiment(spec, second);
  EXPECT_TRUE(second.ended.empty());
  EXPECT_EQ(second.states, (std::vector<RunState>{RunState::kFinished, RunState::kFinished}));
  EXPECT_EQ(std::filesystem::last_write_time(results), written);

  // Removing one run's results retrains that run only.
  std::filesystem::remove(results);
  Recorder third;
  run_experiment(spec, third);
  EXPECT_EQ(third.ended, (std::vector<std::string>{"nddr-s0"}));
  EXPECT_EQ(third.states[1], RunState::kResumable);
}

TEST(Runner, ShardsSplitTheGridBetweenProcesses) {
  testing::TempDir dir("nddr_experiment_shards_");
  // Both runs from scratch, so neither shard waits for the other.
  std::string text = tiny_experiment(dir.str());
  text = text.substr(0, text.find("methods:")) +
         "methods: [{label: single, set: [network.fusion=single]},\n"
         "          {label: nddr, set: [network.fusion=nddr]}]\n";
  const auto spec = parse_experiment(text, "tiny.yaml", ".");
  Recorder second_half;
  run_experiment(spec, second_half, parse_shard("2/2"));
  EXPECT_EQ(second_half.ended, (std::vector<std::string>{"nddr-s0"}));
  EXPECT_EQ(second_half.starts, (std::vector<std::string>{"nddr-s0@1/2"}));
  Recorder first_half;
  run_experiment(spec, first_half, parse_shard("1/2"));
  EXPECT_EQ(first_half.ended, (std::vector<std::string>{"single-s0"}));
  Recorder whole;
  run_experiment(spec, whole);
  EXPECT_TRUE(whole.ended.empty()) << "the two shards covered the grid";
}

TEST(Runner, ParseShardAcceptsOnlyKOverN) {
  const Shard shard = parse_shard("3/4");
  EXPECT_EQ(shard.index, 2u);
  EXPECT_EQ(shard.count, 4u);
  for (const char* bad : {"0/2", "3/2", "1", "a/2", "1/", "/2", "-1/2", "1/2/3"}) {
    try {
      parse_shard(bad);
      ADD_FAILURE() << bad << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace nddr
