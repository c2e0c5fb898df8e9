#include <gtest/gtest.h>

#include <filesystem>
#include <limits>

#include "nddr/data/synthetic_scenes.h"
#include "nddr/train/checkpoint.h"
#include "nddr/train/loss_scaler.h"
#include "nddr/train/trainer.h"
#include "nddr/util/error.h"
#include "train/train_helpers.h"

namespace nddr {
namespace {

using testing::fresh_dir;
using testing::tiny_network;

namespace fs = std::filesystem;

TEST(LossScaler, GrowsAfterTheIntervalAndShrinksOnOverflow) {
  LossScaler scaler(LossScalerOptions().init_scale(8.0).growth_interval(3));
  scaler.update(true);
  scaler.update(true);
  EXPECT_EQ(scaler.scale(), 8.0);
  EXPECT_EQ(scaler.state().growth_tracker, 2);
  scaler.update(true);
  EXPECT_EQ(scaler.scale(), 16.0);
  EXPECT_EQ(scaler.state().growth_tracker, 0);
  scaler.update(true);
  scaler.update(false);  // an overflow resets the count of good steps
  EXPECT_EQ(scaler.scale(), 8.0);
  EXPECT_EQ(scaler.state().growth_tracker, 0);
  scaler.update(true);
  scaler.update(true);
  EXPECT_EQ(scaler.scale(), 8.0);
}

TEST(LossScaler, RejectsBadOptionsAndState) {
  EXPECT_THROW(LossScaler(LossScalerOptions().init_scale(0.0)), Error);
  EXPECT_THROW(LossScaler(LossScalerOptions().growth_factor(1.0)), Error);
  EXPECT_THROW(LossScaler(LossScalerOptions().backoff_factor(1.0)), Error);
  EXPECT_THROW(LossScaler(LossScalerOptions().growth_interval(0)), Error);
  LossScaler scaler;
  EXPECT_THROW(scaler.set_state({-1.0, 0}), Error);
  EXPECT_THROW(scaler.set_state({std::numeric_limits<double>::infinity(), 0}), Error);
}

TEST(LossScaler, StepUnscalesExactlyOrSkipsOnInfAndNan) {
  // w' = w - lr * grad / scale for finite gradients, checked in double.
  torch::Tensor weight = torch::tensor({1.0, -2.0, 3.0}, torch::kDouble).requires_grad_();
  torch::optim::SGD optimizer({weight}, torch::optim::SGDOptions(0.5));
  LossScaler scaler(LossScalerOptions().init_scale(1024.0).growth_interval(100));
  const torch::Tensor target = torch::tensor({0.5, 0.5, 0.5}, torch::kDouble);

  const auto loss = (weight - target).pow(2).sum();
  scaler.scale_loss(loss).backward();
  EXPECT_TRUE(torch::allclose(weight.grad(), 1024.0 * 2.0 * (weight - target).detach()));
  const torch::Tensor before = weight.detach().clone();
  EXPECT_TRUE(scaler.step(optimizer));
  const torch::Tensor expected = before - 0.5 * 2.0 * (before - target);
  EXPECT_TRUE(torch::allclose(weight.detach(), expected, 0.0, 1e-15));
  EXPECT_EQ(scaler.scale(), 1024.0);

  for (const double bad :
       {std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
        std::numeric_limits<double>::quiet_NaN()}) {
    optimizer.zero_grad();
    const torch::Tensor kept = weight.detach().clone();
    weight.mutable_grad() = torch::tensor({1.0, bad, 1.0}, torch::kDouble);
    const double scale = scaler.scale();
    EXPECT_FALSE(scaler.step(optimizer)) << bad;
    EXPECT_TRUE(torch::equal(weight.detach(), kept)) << bad;
    EXPECT_EQ(scaler.scale(), scale / 2.0) << bad;
  }
}

struct Recorder : TrainObserver {
  void on_step(const StepReport& report) override { reports.push_back(report); }
  std::vector<StepReport> reports;
};

// A scale near fp32's maximum overflows the scaled loss: those steps must be
// skipped (weights untouched) and halve the scale until steps go through; a
// run stopped and resumed in the middle must end exactly like one that was
// not, scale included.
TEST(LossScaler, TrainerSkipsOverflowsAndResumesExactly) {
  const auto data = std::make_shared<SyntheticScenes>(
      SyntheticScenesOptions().height(32).width(32).count(8).seed(4));
  const auto loader = TrainLoaderOptions().batch_size(2).workers(1);
  const int64_t steps = 12;
  auto options = [&](const fs::path& dir) {
    return TrainOptions()
        .steps(steps)
        .seed(3)
        .optimizer(OptimizerOptions().lr(0.01))
        .log_every(1)
        .checkpoint_every(0)
        .run_dir(dir.string())
        .loss_scaling(true)
        .loss_scaler(LossScalerOptions().init_scale(1e38).growth_interval(2));
  };
  torch::manual_seed(21);
  MultiTaskNet uninterrupted(tiny_network("nddr"));
  torch::manual_seed(21);
  MultiTaskNet interrupted(tiny_network("nddr"));
  torch::manual_seed(22);
  MultiTaskNet resumed(tiny_network("nddr"));

  Recorder full_run;
  Trainer full(uninterrupted, data, loader, options(fresh_dir("full")));
  full.run(full_run);
  ASSERT_EQ(full_run.reports.size(), static_cast<size_t>(steps));
  int64_t skipped = 0;
  for (const auto& report : full_run.reports) skipped += report.skipped ? 1 : 0;
  EXPECT_GT(skipped, 0);
  EXPECT_LT(skipped, steps);
  EXPECT_TRUE(full_run.reports.front().skipped);
  EXPECT_EQ(full_run.reports.front().loss_scale, 5e37);

  const fs::path dir = fresh_dir("stopped");
  TrainObserver quiet;
  Trainer first_half(interrupted, data, loader, options(dir).stop_after(steps / 2));
  first_half.run(quiet);
  const CheckpointState state = read_checkpoint_state((dir / "checkpoint.pt").string());
  ASSERT_TRUE(state.loss_scaler.has_value());
  EXPECT_EQ(state.loss_scaler->scale, full_run.reports[steps / 2 - 1].loss_scale);

  Trainer second_half(resumed, data, loader, options(dir));
  second_half.resume_from((dir / "checkpoint.pt").string());
  EXPECT_EQ(second_half.loss_scaler()->scale(), state.loss_scaler->scale);
  EXPECT_EQ(second_half.loss_scaler()->state().growth_tracker, state.loss_scaler->growth_tracker);
  second_half.run(quiet);
  EXPECT_EQ(second_half.loss_scaler()->scale(), full.loss_scaler()->scale());
  const auto expected = uninterrupted->named_parameters();
  const auto actual = resumed->named_parameters();
  for (const auto& item : expected) {
    EXPECT_TRUE(torch::equal(item.value(), actual[item.key()])) << item.key();
  }
}

// A skipped step leaves every parameter as it was.
TEST(LossScaler, SkippedStepLeavesTheWeights) {
  const auto data = std::make_shared<SyntheticScenes>(
      SyntheticScenesOptions().height(32).width(32).count(2).seed(4));
  torch::manual_seed(5);
  MultiTaskNet net(tiny_network("nddr"));
  Trainer trainer(
      net, data, TrainLoaderOptions().batch_size(2),
      TrainOptions().steps(2).loss_scaling(true).loss_scaler(LossScalerOptions().init_scale(1e38)));
  std::vector<torch::Tensor> before;
  for (const auto& parameter : net->parameters()) before.push_back(parameter.detach().clone());
  const Batch batch = load_train_batch(*data, TrainLoaderOptions().batch_size(2), 0);
  const StepReport report = trainer.train_step(batch, 0);
  ASSERT_TRUE(report.skipped);
  const auto after = net->parameters();
  for (size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(torch::equal(before[i], after[i])) << i;
}

}  // namespace
}  // namespace nddr
