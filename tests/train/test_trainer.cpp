#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "nddr/data/synthetic_scenes.h"
#include "nddr/train/checkpoint.h"
#include "nddr/train/trainer.h"
#include "nddr/util/error.h"
#include "train/train_helpers.h"

namespace nddr {
namespace {

using testing::fresh_dir;
using testing::tiny_network;
using testing::tiny_scenes;

namespace fs = std::filesystem;

TrainOptions options_for(const std::string& run_dir, int64_t steps) {
  return TrainOptions()
      .steps(steps)
      .seed(7)
      .optimizer(OptimizerOptions().lr(0.01))
      .log_every(1)
      .checkpoint_every(0)
      .run_dir(run_dir);
}

struct LossRecorder : TrainObserver {
  void on_step(const StepReport& report) override { losses.push_back(report.total_loss); }
  std::vector<double> losses;
};

TEST(Trainer, LossFallsOnSyntheticScenes) {
  torch::manual_seed(1);
  // A small fixed set the network can fit: the loss must fall well below its start.
  const auto data = tiny_scenes(8, 3);
  Trainer trainer(MultiTaskNet(tiny_network("nddr")), data,
                  TrainLoaderOptions().batch_size(8).workers(1),
                  options_for("", 40).optimizer(OptimizerOptions().lr(0.003)));
  LossRecorder recorder;
  trainer.run(recorder);
  ASSERT_EQ(recorder.losses.size(), 40u);
  auto mean = [&](size_t begin, size_t end) {
    double sum = 0;
    for (size_t i = begin; i < end; ++i) sum += recorder.losses[i];
    return sum / static_cast<double>(end - begin);
  };
  EXPECT_LT(mean(30, 40), 0.7 * mean(0, 5));
}

// Trains `steps` steps at once and in two halves through a checkpoint; the
// weights, BN statistics and (for every optimizer) the optimizer state must
// end bit-identical.
void expect_bit_exact_resume(const std::function<TrainOptions(TrainOptions)>& configure) {
  const auto data = tiny_scenes(24, 5);
  const auto loader = TrainLoaderOptions().batch_size(4).workers(2);
  const int64_t steps = 8;
  auto options_of = [&](const std::string& dir) { return configure(options_for(dir, steps)); };

  torch::manual_seed(11);
  MultiTaskNet uninterrupted(tiny_network("nddr"));
  torch::manual_seed(11);
  MultiTaskNet interrupted(tiny_network("nddr"));
  torch::manual_seed(12);
  MultiTaskNet resumed(tiny_network("nddr"));  // different init: all must come from the file

  TrainObserver quiet;
  Trainer full(uninterrupted, data, loader, options_of(fresh_dir("full").string()));
  full.run(quiet);

  const fs::path dir = fresh_dir("stopped");
  Trainer first_half(interrupted, data, loader, options_of(dir.string()).stop_after(steps / 2));
  first_half.run(quiet);
  EXPECT_EQ(read_checkpoint_state((dir / "checkpoint.pt").string()).step, steps / 2);

  Trainer second_half(resumed, data, loader, options_of(dir.string()));
  second_half.resume_from((dir / "checkpoint.pt").string());
  EXPECT_EQ(second_half.step(), steps / 2);
  second_half.run(quiet);

  const auto expected = uninterrupted->named_parameters();
  const auto actual = resumed->named_parameters();
  for (const auto& item : expected) {
    EXPECT_TRUE(torch::equal(item.value(), actual[item.key()])) << item.key();
  }
  const auto expected_buffers = uninterrupted->named_buffers();
  const auto actual_buffers = resumed->named_buffers();
  for (const auto& item : expected_buffers) {
    EXPECT_TRUE(torch::equal(item.value(), actual_buffers[item.key()])) << item.key();
  }
  // One more step from each: equal only if the optimizer state matched too.
  const Batch batch =
      TrainLoader(
          data,
          TrainLoaderOptions(loader).tasks(tiny_network("nddr").tasks).seed(7).start_step(steps))
          .next();
  full.train_step(batch, steps - 1);
  second_half.train_step(batch, steps - 1);
  for (const auto& item : expected) {
    EXPECT_TRUE(torch::equal(item.value(), actual[item.key()]))
        << "after one more step: " << item.key();
  }
}

TEST(Trainer, ResumedRunEndsWithTheSameWeights) {
  expect_bit_exact_resume([](TrainOptions options) { return options; });
}

TEST(Trainer, ResumeIsBitExactWithAdam) {
  expect_bit_exact_resume([](TrainOptions options) {
    return options.optimizer(OptimizerOptions().name("adam").lr(1e-3))
        .schedule(ScheduleOptions().name("step").step_size(3).gamma(0.5).warmup_steps(2));
  });
}

TEST(Trainer, ResumeIsBitExactWithAdamW) {
  expect_bit_exact_resume([](TrainOptions options) {
    return options.optimizer(OptimizerOptions().name("adamw").lr(1e-3).weight_decay(1e-2))
        .schedule(ScheduleOptions().name("cosine").warmup_steps(3));
  });
}

TEST(Trainer, ResumeIsBitExactWithUncertaintyWeighting) {
  expect_bit_exact_resume([](TrainOptions options) {
    return options.optimizer(OptimizerOptions().name("adam").lr(1e-3))
        .weighting({"uncertainty", {}});
  });
}

TEST(Trainer, ResumeIsBitExactWithAGradientMethod) {
  // GradNorm keeps state (its task weights and first losses) besides the
  // per-step gradients.
  expect_bit_exact_resume([](TrainOptions options) {
    return options.weighting({"gradnorm", {{"alpha", "1.5"}}});
  });
}

TEST(Trainer, RepresentationModeNeedsSplitAndTrainsThere) {
  const auto data = tiny_scenes(8, 3);
  const WeightingSpec mgda_ub{"mgda", {{"mode", "representation"}}};
  EXPECT_THROW(Trainer(MultiTaskNet(tiny_network("nddr")), data, TrainLoaderOptions().batch_size(4),
                       options_for("", 2).weighting(mgda_ub)),
               Error);
  auto options = tiny_network("split");
  options.fusion.split_stage = 3;
  Trainer trainer(MultiTaskNet(options), data, TrainLoaderOptions().batch_size(4),
                  options_for("", 2).weighting(mgda_ub));
  LossRecorder recorder;
  trainer.run(recorder);
  EXPECT_EQ(recorder.losses.size(), 2u);
  const auto& a = trainer.weighting().last_weights();
  EXPECT_NEAR(a[0] + a[1], 1.0, 1e-12);
}

TEST(Trainer, UncertaintyLogVariancesAreTrained) {
  const auto data = tiny_scenes(8, 3);
  Trainer trainer(MultiTaskNet(tiny_network("nddr")), data, TrainLoaderOptions().batch_size(4),
                  options_for("", 3).weighting({"uncertainty", {}}));
  EXPECT_EQ(trainer.groups().back().owner, "weighting");
  TrainObserver quiet;
  trainer.run(quiet);
  const torch::Tensor s = trainer.weighting().parameters()[0];
  EXPECT_GT(s.abs().max().item<double>(), 0.0) << "the optimizer must move log-variances";
}

TEST(Trainer, CheckpointOfAnotherNetworkIsAClearError) {
  const auto data = tiny_scenes(8, 5);
  const fs::path dir = fresh_dir("mismatch");
  TrainObserver quiet;
  Trainer nddr_run(MultiTaskNet(tiny_network("nddr")), data, TrainLoaderOptions().batch_size(2),
                   options_for(dir.string(), 1));
  nddr_run.run(quiet);
  Trainer other(MultiTaskNet(tiny_network("cross_stitch")), data,
                TrainLoaderOptions().batch_size(2), options_for("", 1));
  try {
    other.resume_from((dir / "checkpoint.pt").string());
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("checkpoint.pt"), std::string::npos) << e.what();
  }
  EXPECT_THROW(other.resume_from((dir / "missing.pt").string()), Error);
}

}  // namespace
}  // namespace nddr
