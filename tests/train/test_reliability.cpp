// Faults around training: divergence, a full disk while checkpointing, a
// damaged checkpoint, a stop signal, resume checks and the run lock.

#include <gtest/gtest.h>
#include <sys/mount.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "nddr/config/config.h"
#include "nddr/data/synthetic_scenes.h"
#include "nddr/io/atomic_file.h"
#include "nddr/train/checkpoint.h"
#include "nddr/train/divergence.h"
#include "nddr/train/resume_check.h"
#include "nddr/train/run_dir.h"
#include "nddr/train/stop_signal.h"
#include "nddr/train/trainer.h"
#include "nddr/util/error.h"
#include "nddr/util/run_lock.h"
#include "train/train_helpers.h"

namespace nddr {
namespace {

namespace fs = std::filesystem;

NetworkOptions tiny_network() {
  NetworkOptions options = testing::tiny_network("nddr");
  options.tasks[1].loss_weight = 1.0;
  options.head_hidden = 8;
  return options;
}

std::shared_ptr<const Dataset> scenes() { return testing::tiny_scenes(8, 4, /*side=*/16); }

TrainOptions options_for(const fs::path& dir, int64_t steps, double lr) {
  return TrainOptions()
      .steps(steps)
      .seed(3)
      .optimizer(OptimizerOptions().lr(lr))
      .log_every(1)
      .checkpoint_every(1)
      .run_dir(dir.string());
}

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = testing::fresh_dir(name);
  fs::create_directories(dir);
  return dir;
}

std::string bytes_of(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<std::string> temporaries_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.find(".tmp.") != std::string::npos) names.push_back(name);
  }
  return names;
}

TEST(Divergence, NonFiniteLossStopsNamingStepAndTaskAndKeepsTheCheckpoint) {
  const fs::path dir = fresh_dir("nan_stop");
  torch::manual_seed(1);
  Trainer trainer(MultiTaskNet(tiny_network()), scenes(), TrainLoaderOptions().batch_size(2),
                  options_for(dir, 30, 1e6));
  TrainObserver quiet;
  std::string message;
  try {
    trainer.run(quiet);
  } catch (const DivergenceError& e) {
    message = e.what();
  }
  ASSERT_FALSE(message.empty()) << "lr 1e6 did not diverge in 30 steps";
  EXPECT_NE(message.find("at step " + std::to_string(trainer.step() + 1)), std::string::npos)
      << message;
  const bool names_cause = message.find("task '") != std::string::npos ||
                           message.find("gradient of '") != std::string::npos ||
                           message.find("is not finite") != std::string::npos;
  EXPECT_TRUE(names_cause) << message;
  const fs::path checkpoint = dir / "checkpoint.pt";
  if (trainer.step() > 0) {
    ASSERT_TRUE(fs::exists(checkpoint)) << message;
    EXPECT_NE(message.find("checkpoint.pt"), std::string::npos) << message;
    // The kept checkpoint is a good one: it loads and holds finite weights.
    MultiTaskNet reloaded(tiny_network());
    std::vector<ParamGroupInfo> groups;
    auto optimizer = make_optimizer(*reloaded, OptimizerOptions(), groups);
    const auto state = load_checkpoint(checkpoint.string(), *reloaded, *optimizer);
    EXPECT_LE(state.step, trainer.step());
    EXPECT_EQ(non_finite_weight(*reloaded), "");
  }
  EXPECT_TRUE(temporaries_in(dir).empty());
}

TEST(Divergence, SkipPolicySkipsAtMostTheLimit) {
  const fs::path dir = fresh_dir("nan_skip");
  torch::manual_seed(1);
  Trainer trainer(MultiTaskNet(tiny_network()), scenes(), TrainLoaderOptions().batch_size(2),
                  options_for(dir, 40, 1e6).skip_non_finite(true).max_skipped_steps(3));
  TrainObserver quiet;
  try {
    trainer.run(quiet);
    FAIL() << "lr 1e6 never diverged";
  } catch (const DivergenceError& e) {
    EXPECT_NE(std::string(e.what()).find("4 steps skipped"), std::string::npos) << e.what();
  }
}

TEST(Divergence, FindsTheNonFiniteGradient) {
  torch::nn::Linear layer(2, 2);
  layer->weight.mutable_grad() = torch::zeros({2, 2});
  layer->bias.mutable_grad() = torch::zeros({2});
  EXPECT_EQ(non_finite_gradient(*layer), "");
  layer->bias.mutable_grad()[1] = std::numeric_limits<float>::infinity();
  EXPECT_NE(non_finite_gradient(*layer).find("'bias'"), std::string::npos);
  EXPECT_NE(non_finite_loss({{"seg", 1.0}, {"normals", std::nan("")}}).find("'normals'"),
            std::string::npos);
}

TEST(Divergence, EvaluationCountsImagesWithNonFiniteOutputs) {
  torch::manual_seed(1);
  MultiTaskNet net(tiny_network());
  const auto data = scenes();
  EXPECT_EQ(evaluate(*net, data, EvalLoaderOptions().batch_size(4)).non_finite_images, 0);
  {
    torch::NoGradGuard no_grad;
    for (auto& parameter : net->parameters()) parameter.fill_(std::nan(""));
  }
  const Evaluation diverged = evaluate(*net, data, EvalLoaderOptions().batch_size(4));
  EXPECT_EQ(diverged.non_finite_images, diverged.images);
  EXPECT_FALSE(diverged.metrics.at("normals").at("median") < 90)
      << "NaN normals must not score a good median";
}

class CheckpointFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(2);
    optimizer = make_optimizer(*net, OptimizerOptions(), groups);
  }
  void TearDown() override { inject_disk_full_after(-1); }

  MultiTaskNet net{tiny_network()};
  std::vector<ParamGroupInfo> groups;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
};

TEST_F(CheckpointFaults, DiskFullKeepsThePreviousCheckpointAndNoTemporary) {
  const fs::path dir = fresh_dir("disk_full");
  const std::string path = (dir / "checkpoint.pt").string();
  save_checkpoint(path, *net, *optimizer, CheckpointState{1, 3, "a: 1", 0, std::nullopt});
  const std::string before = bytes_of(path);
  for (int64_t capacity : {int64_t{0}, int64_t{100}, static_cast<int64_t>(before.size()) / 2}) {
    inject_disk_full_after(capacity);
    try {
      save_checkpoint(path, *net, *optimizer, CheckpointState{2, 3, "a: 1", 0, std::nullopt});
      ADD_FAILURE() << "a full disk after " << capacity << " bytes was not reported";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
    EXPECT_EQ(bytes_of(path), before) << "the previous checkpoint changed";
    EXPECT_TRUE(temporaries_in(dir).empty());
  }
  inject_disk_full_after(-1);
  EXPECT_EQ(read_checkpoint_state(path).step, 1);
}

// The same on a real full file system, where one is available (root may
// mount a small tmpfs; elsewhere the test is skipped).
TEST_F(CheckpointFaults, RealFullFileSystemKeepsThePreviousCheckpoint) {
  const fs::path dir = fresh_dir("tmpfs");
  if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=4m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
  }
  const std::string path = (dir / "checkpoint.pt").string();
  save_checkpoint(path, *net, *optimizer, CheckpointState{1, 3, "a: 1", 0, std::nullopt});
  const std::string before = bytes_of(path);
  {
    // Fill the file system up to less than one more checkpoint.
    std::ofstream filler(dir / "filler", std::ios::binary);
    const std::string block(4096, 'x');
    while (filler.write(block.data(), static_cast<std::streamsize>(block.size()))) {
    }
  }
  fs::resize_file(dir / "filler", fs::file_size(dir / "filler") - before.size() / 2);
  EXPECT_THROW(
      save_checkpoint(path, *net, *optimizer, CheckpointState{2, 3, "a: 1", 0, std::nullopt}),
      Error);
  EXPECT_EQ(bytes_of(path), before);
  EXPECT_TRUE(temporaries_in(dir).empty());
  ::umount(dir.c_str());
}

TEST_F(CheckpointFaults, FlippedBitIsDetectedNamingTheFile) {
  const fs::path dir = fresh_dir("bitflip");
  const std::string path = (dir / "checkpoint.pt").string();
  save_checkpoint(path, *net, *optimizer, CheckpointState{1, 3, "a: 1", 0, std::nullopt});
  std::string bytes = bytes_of(path);
  int64_t rejected = 0;
  // The header and every byte of the data are covered.
  for (size_t offset = 3; offset < bytes.size(); offset += bytes.size() / 16) {
    std::string damaged = bytes;
    damaged[offset] = static_cast<char>(damaged[offset] ^ 0x10);
    std::ofstream(path, std::ios::binary) << damaged;
    MultiTaskNet other(tiny_network());
    std::vector<ParamGroupInfo> other_groups;
    auto other_optimizer = make_optimizer(*other, OptimizerOptions(), other_groups);
    try {
      load_checkpoint(path, *other, *other_optimizer);
      ADD_FAILURE() << "a flipped bit at byte " << offset << " was not detected";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      ++rejected;
    }
  }
  EXPECT_GE(rejected, 16);
}

// Checkpoints written before the checksum existed: a bare LibTorch archive.
TEST_F(CheckpointFaults, CheckpointsWithoutAChecksumStillLoad) {
  const fs::path dir = fresh_dir("legacy");
  const std::string path = (dir / "checkpoint.pt").string();
  torch::serialize::OutputArchive archive, model, state;
  net->save(model);
  optimizer->save(state);
  archive.write("model", model);
  archive.write("optimizer", state);
  archive.write("step", c10::IValue(int64_t{5}));
  archive.write("seed", c10::IValue(int64_t{3}));
  archive.write("config", c10::IValue(std::string("a: 1")));
  archive.save_to(path);
  MultiTaskNet other(tiny_network());
  std::vector<ParamGroupInfo> other_groups;
  auto other_optimizer = make_optimizer(*other, OptimizerOptions(), other_groups);
  const auto loaded = load_checkpoint(path, *other, *other_optimizer);
  EXPECT_EQ(loaded.step, 5);
  EXPECT_EQ(loaded.skipped_steps, 0);
  EXPECT_TRUE(torch::equal(other->parameters()[0], net->parameters()[0]));
}

TEST(ResumeCheck, NetworkChangeIsAnErrorListingTheKeys) {
  Config saved;
  Config changed = saved;
  changed.apply_override("network.head_hidden=64");
  changed.apply_override("tasks=[{name: seg, kind: segmentation, channels: 4}]");
  changed.apply_override("train.steps=2000");
  try {
    check_resume("run/checkpoint.pt", saved.to_yaml(), changed);
    FAIL() << "a changed network was accepted";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("network.head_hidden: 1024 -> 64"), std::string::npos) << message;
    EXPECT_NE(message.find("tasks:"), std::string::npos) << message;
    EXPECT_NE(message.find("run/checkpoint.pt"), std::string::npos) << message;
  }
}

TEST(ResumeCheck, ScheduleChangesAreAllowedAndReported) {
  Config saved;
  saved.merge_yaml("train: {lr: 0.010}\nnetwork: {width: 0.0625}", "a.yaml");
  Config changed;
  changed.merge_yaml("train: {lr: 1e-2, steps: 5}\nnetwork: {width: 6.25e-2}", "b.yaml");
  const auto changes = check_resume("c.pt", saved.to_yaml(), changed);
  ASSERT_EQ(changes.size(), 1u) << "equal values written differently are no change";
  EXPECT_EQ(changes[0].describe(), "train.steps: 1000 -> 5");
}

TEST(ResumeCheck, LoadingNeverChangesParameterShapes) {
  const fs::path dir = fresh_dir("shapes");
  const std::string path = (dir / "checkpoint.pt").string();
  NetworkOptions wide = tiny_network();
  wide.head_hidden = 16;
  MultiTaskNet saved(wide);
  std::vector<ParamGroupInfo> groups;
  auto optimizer = make_optimizer(*saved, OptimizerOptions(), groups);
  save_checkpoint(path, *saved, *optimizer, CheckpointState{1, 3, "", 0, std::nullopt});
  MultiTaskNet narrow(tiny_network());
  auto narrow_optimizer = make_optimizer(*narrow, OptimizerOptions(), groups);
  try {
    load_checkpoint(path, *narrow, *narrow_optimizer);
    FAIL() << "a checkpoint of another shape loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("shape"), std::string::npos) << e.what();
  }
}

TEST(RunLock, ASecondLockOnTheSameDirectoryFails) {
  const fs::path dir = fresh_dir("lock");
  {
    const RunLock first(dir.string());
    EXPECT_THROW(RunLock second(dir.string()), Error);
  }
  EXPECT_NO_THROW(RunLock again(dir.string()));
}

TEST(RunDir, StaleTemporariesAreRemoved) {
  const fs::path dir = fresh_dir("stale");
  std::ofstream(dir / "checkpoint.pt.tmp.123.0") << "half";
  std::ofstream(dir / "log.jsonl") << "{}\n";
  const auto removed = remove_stale_temporaries(dir.string());
  EXPECT_EQ(removed.size(), 1u);
  EXPECT_FALSE(fs::exists(dir / "checkpoint.pt.tmp.123.0"));
  EXPECT_TRUE(fs::exists(dir / "log.jsonl"));
}

// A log line that cannot be written stops training with an Error naming
// the log: on a full disk (log.jsonl is /dev/full, where every write fails
// with ENOSPC) and when the log cannot be opened (it is a directory).
TEST(TrainingLog, WriteFailureIsAnErrorNamingTheLog) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  const fs::path dir = fresh_dir("log_full");
  const std::string log = (dir / "log.jsonl").string();
  fs::create_symlink("/dev/full", log);
  TrainObserver observer;
  torch::manual_seed(1);
  Trainer full(MultiTaskNet(tiny_network()), scenes(), TrainLoaderOptions().batch_size(2),
               options_for(dir, 3, 0.01).checkpoint_every(0));
  try {
    full.run(observer);
    FAIL() << "a full disk under log.jsonl was not reported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot write training log '" + log + "' (disk full"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(full.step(), 1) << "training went on after the log failed";

  fs::remove(log);
  fs::create_directory(log);
  Trainer unopenable(MultiTaskNet(tiny_network()), scenes(), TrainLoaderOptions().batch_size(2),
                     options_for(dir, 3, 0.01).checkpoint_every(0));
  try {
    unopenable.run(observer);
    FAIL() << "a log that cannot be opened was not reported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot write training log '" + log + "'"),
              std::string::npos)
        << e.what();
  }
}

TEST(StopSignal, SigintStopsAtAStepBoundaryWithACheckpoint) {
  const fs::path dir = fresh_dir("sigint");
  torch::manual_seed(1);
  struct RaiseAtStep : TrainObserver {
    void on_step(const StepReport& report) override {
      if (report.step == 2) std::raise(SIGINT);
    }
  } observer;
  install_stop_handlers();
  Trainer trainer(MultiTaskNet(tiny_network()), scenes(), TrainLoaderOptions().batch_size(2),
                  options_for(dir, 10, 0.01).checkpoint_every(0));
  trainer.run(observer);
  const int signal = trainer.stopped_by_signal();
  clear_stop_request();
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  EXPECT_EQ(signal, SIGINT);
  EXPECT_EQ(trainer.step(), 2);
  EXPECT_EQ(read_checkpoint_state((dir / "checkpoint.pt").string()).step, 2);
}

}  // namespace
}  // namespace nddr
