// Data-parallel training and evaluation over two ranks (threads of this
// process, each with its own Gloo group) against one process: the same
// weights within float tolerance, the same metrics exactly.

#include <gtest/gtest.h>

#include "dist_test_networks.h"
#include "nddr/data/synthetic_scenes.h"
#include "nddr/layers/batch_norm.h"
#include "nddr/train/evaluator.h"
#include "nddr/train/trainer.h"
#include "nddr/util/error.h"
#include "rank_threads.h"

namespace nddr {
namespace {

using testing::scenes;
using testing::small_network;

TrainOptions train_options(int64_t steps) {
  return TrainOptions().steps(steps).seed(5).optimizer(OptimizerOptions().lr(0.01)).log_every(1);
}

struct Silent : TrainObserver {};

std::vector<MultiTaskNet> identical_nets(size_t count) {
  std::vector<MultiTaskNet> nets;
  for (size_t i = 0; i < count; ++i) {
    torch::manual_seed(21);
    nets.emplace_back(small_network());
  }
  return nets;
}

void expect_close_parameters(MultiTaskNetImpl& a, MultiTaskNetImpl& b, double tolerance) {
  const auto pa = a.named_parameters();
  const auto pb = b.named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& item : pa) {
    const torch::Tensor& other = pb[item.key()];
    EXPECT_TRUE(torch::allclose(item.value(), other, tolerance, tolerance))
        << item.key() << ": max difference " << (item.value() - other).abs().max().item<double>();
  }
  for (const auto& item : a.named_buffers()) {
    if (item.key().find("running") == std::string::npos) continue;
    EXPECT_TRUE(torch::allclose(item.value(), b.named_buffers()[item.key()], tolerance, tolerance))
        << item.key();
  }
}

Batch in_double(Batch batch) {
  batch.images = batch.images.to(torch::kDouble);
  for (auto& target : batch.targets) {
    if (target.second.is_floating_point()) target.second = target.second.to(torch::kDouble);
  }
  return batch;
}

// Two train steps in double precision, one process on the global batch of 8
// against two ranks on 4 images each: SyncBatchNorm, the loss normalisation
// by the global count and the gradient average make them the same
// computation up to rounding.
TEST(DataParallel, TwoRanksWithSyncBatchNormTrainTheWeightsOfOneProcessInDouble) {
  const auto data = scenes(24, 4);
  auto nets = identical_nets(3);
  for (auto& net : nets) net->to(torch::kDouble);
  const auto loader = TrainLoaderOptions().batch_size(8).workers(0).tasks(nets[0]->tasks());
  constexpr int64_t kSteps = 2;
  {
    Trainer single(nets[2], data, loader, train_options(kSteps));
    for (int64_t step = 0; step < kSteps; ++step) {
      single.train_step(in_double(load_train_batch(*data, loader, step)), step);
    }
  }
  std::vector<GradientSyncStats> stats(2);
  testing::run_ranks(
      2,
      [&](std::shared_ptr<dist::ProcessGroup> group) {
        MultiTaskNet& net = nets[group->rank()];
        EXPECT_GT(set_sync_batch_norm(*net, group), 0);
        Trainer trainer(net, data, loader, train_options(kSteps).collective(group));
        const auto shard = TrainLoaderOptions(loader).shard_index(group->rank()).shard_count(2);
        for (int64_t step = 0; step < kSteps; ++step) {
          trainer.train_step(in_double(load_train_batch(*data, shard, step)), step);
        }
        stats[group->rank()] = trainer.last_gradient_sync();
      },
      // Small buckets: several all-reduces, launched while backward runs.
      dist::ProcessGroupOptions().timeout_seconds(60).bucket_mb(0.01));
  expect_close_parameters(*nets[0], *nets[2], 1e-9);
  // Every rank holds the same weights bit for bit.
  for (const auto& item : nets[0]->named_parameters()) {
    EXPECT_TRUE(torch::equal(item.value(), nets[1]->named_parameters()[item.key()])) << item.key();
  }
  EXPECT_GT(stats[0].buckets, 2);
  EXPECT_GT(stats[0].launched_during_backward, 0);
}

TEST(DataParallel, PerRankBatchNormStillStartsFromRankZerosWeightsAndStaysInStep) {
  const auto data = scenes(16, 6);
  std::vector<MultiTaskNet> nets;
  for (int seed : {1, 2}) {  // different initial weights: rank 0's must win
    torch::manual_seed(seed);
    nets.emplace_back(small_network());
  }
  testing::run_ranks(2, [&](std::shared_ptr<dist::ProcessGroup> group) {
    Trainer trainer(nets[group->rank()], data, TrainLoaderOptions().batch_size(4).workers(0),
                    train_options(2).collective(group));
    Silent quiet;
    trainer.run(quiet);
  });
  for (const auto& item : nets[0]->named_parameters()) {
    EXPECT_TRUE(torch::equal(item.value(), nets[1]->named_parameters()[item.key()])) << item.key();
  }
  // Running statistics are averaged at the end of the run.
  for (const auto& item : nets[0]->named_buffers()) {
    EXPECT_TRUE(torch::equal(item.value(), nets[1]->named_buffers()[item.key()])) << item.key();
  }
}

TEST(DataParallel, IndivisibleGlobalBatchIsAnError) {
  const auto data = scenes(8, 1);
  auto nets = identical_nets(2);
  std::vector<std::string> messages(2);
  testing::run_ranks(2, [&](std::shared_ptr<dist::ProcessGroup> group) {
    try {
      Trainer trainer(nets[group->rank()], data, TrainLoaderOptions().batch_size(3),
                      train_options(1).collective(group));
    } catch (const Error& error) {
      messages[group->rank()] = error.what();
    }
  });
  EXPECT_NE(messages[1].find("train.batch_size 3 (the global batch) does not divide into 2 ranks"),
            std::string::npos)
      << messages[1];
}

TEST(DataParallel, ShardedEvaluationEqualsOneProcessExactly) {
  // 7 images in batches of 2: 4 batches, rank 0 takes 0 and 2, rank 1 takes 1 and 3.
  const auto data = scenes(7, 9);
  auto nets = identical_nets(3);  // made here: the global generator is not per thread
  const auto options = EvalLoaderOptions().batch_size(2).workers(0);
  const Evaluation expected = evaluate(*nets[2], data, options);
  std::vector<Evaluation> got(2);
  testing::run_ranks(2, [&](std::shared_ptr<dist::ProcessGroup> group) {
    got[group->rank()] = evaluate(*nets[group->rank()], data, options, {}, group.get());
  });
  for (const auto& evaluation : got) {
    EXPECT_EQ(evaluation.images, 7);
    EXPECT_EQ(evaluation.metrics, expected.metrics);
  }
}

}  // namespace
}  // namespace nddr
