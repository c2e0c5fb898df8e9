// Task weighting over two ranks (threads of this process, each with its own
// Gloo group) against one process on the concatenated batch, in double
// precision with SyncBatchNorm: every rank computes the same task weights,
// and they, the combined loss and the trained weights equal the single
// process's. A 2-rank run resumed from a checkpoint is bit-exact.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "dist_test_networks.h"
#include "nddr/data/synthetic_scenes.h"
#include "nddr/layers/batch_norm.h"
#include "nddr/train/checkpoint.h"
#include "nddr/train/trainer.h"
#include "rank_threads.h"

namespace nddr {
namespace {

namespace fs = std::filesystem;

struct Case {
  std::string label;
  WeightingSpec weighting;
  std::string fusion = "nddr";
};

std::ostream& operator<<(std::ostream& out, const Case& c) { return out << c.label; }

using testing::scenes;
using testing::small_network;

std::vector<MultiTaskNet> identical_nets(size_t count, const std::string& fusion, int seed) {
  std::vector<MultiTaskNet> nets;
  for (size_t i = 0; i < count; ++i) {
    torch::manual_seed(seed);
    nets.emplace_back(small_network(fusion));
  }
  return nets;
}

Batch in_double(Batch batch) {
  batch.images = batch.images.to(torch::kDouble);
  for (auto& target : batch.targets) {
    if (target.second.is_floating_point()) target.second = target.second.to(torch::kDouble);
  }
  return batch;
}

// Each step's task weights (in task order) and combined loss.
struct Trace {
  std::vector<std::vector<double>> weights;
  std::vector<double> totals;
};

void add(Trace& trace, const StepReport& report, const MultiTaskNetImpl& net) {
  std::vector<double> weights;
  for (const auto& task : net.tasks()) weights.push_back(report.weights.at(task.name));
  trace.weights.push_back(weights);
  trace.totals.push_back(report.total_loss);
}

class DistributedWeighting : public ::testing::TestWithParam<Case> {};

TEST_P(DistributedWeighting, TwoRanksComputeTheWeightsOfOneProcessOnTheGlobalBatch) {
  const Case& c = GetParam();
  const auto data = scenes(24, 4);
  auto nets = identical_nets(3, c.fusion, 21);
  for (auto& net : nets) net->to(torch::kDouble);
  const auto loader = TrainLoaderOptions().batch_size(8).workers(0).tasks(nets[0]->tasks());
  // Three steps: DWA (period 1) weights by loss ratios from the third on,
  // uncertainty's and IMTL's learned scales have moved by the second.
  constexpr int64_t kSteps = 3;
  auto options = [&] {
    return TrainOptions()
        .steps(kSteps)
        .seed(5)
        .optimizer(OptimizerOptions().lr(0.01))
        .weighting(c.weighting);
  };
  Trace single;
  {
    Trainer trainer(nets[2], data, loader, options());
    for (int64_t step = 0; step < kSteps; ++step) {
      add(single, trainer.train_step(in_double(load_train_batch(*data, loader, step)), step),
          *nets[2]);
    }
  }
  std::vector<Trace> ranks(2);
  testing::run_ranks(2, [&](std::shared_ptr<dist::ProcessGroup> group) {
    MultiTaskNet& net = nets[group->rank()];
    set_sync_batch_norm(*net, group);
    Trainer trainer(net, data, loader, options().collective(group));
    const auto shard = TrainLoaderOptions(loader).shard_index(group->rank()).shard_count(2);
    for (int64_t step = 0; step < kSteps; ++step) {
      add(ranks[group->rank()],
          trainer.train_step(in_double(load_train_batch(*data, shard, step)), step), *net);
    }
  });
  // Bit for bit the same on both ranks: each computed them from the same
  // all-reduced numbers.
  EXPECT_EQ(ranks[0].weights, ranks[1].weights);
  EXPECT_EQ(ranks[0].totals, ranks[1].totals);
  // The trainer computes losses in float whatever the network's dtype, and
  // the weights are functions of the loss values: float rounding, 1e-6.
  for (int64_t step = 0; step < kSteps; ++step) {
    for (size_t t = 0; t < single.weights[step].size(); ++t) {
      EXPECT_NEAR(ranks[0].weights[step][t], single.weights[step][t],
                  1e-6 * std::abs(single.weights[step][t]))
          << "step " << step << ", task " << t;
    }
    EXPECT_NEAR(ranks[0].totals[step], single.totals[step], 1e-6 * std::abs(single.totals[step]))
        << "step " << step;
  }
  // The weights must actually vary, or the comparison shows little.
  EXPECT_NE(single.weights.front(), single.weights.back());
  // The trained weights: within 1e-6 of the tensor's largest magnitude for
  // the same float rounding (a wrong average or weight is off by percent).
  for (const auto& item : nets[2]->named_parameters()) {
    const torch::Tensor got = nets[0]->named_parameters()[item.key()];
    const double difference = (got - item.value()).abs().max().item<double>();
    const double scale = std::max(1.0, item.value().abs().max().item<double>());
    EXPECT_LE(difference, 1e-6 * scale) << item.key() << ": max difference " << difference;
    EXPECT_TRUE(torch::equal(got, nets[1]->named_parameters()[item.key()])) << item.key();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Methods, DistributedWeighting,
    ::testing::Values(Case{"uncertainty", {"uncertainty", {}}},
                      Case{"dwa", {"dwa", {{"period", "1"}}}}, Case{"gls", {"gls", {}}},
                      Case{"rlw", {"rlw", {}}}, Case{"mgda", {"mgda", {}}},
                      Case{"pcgrad", {"pcgrad", {}}}, Case{"imtl", {"imtl", {}}},
                      Case{"mgda_ub", {"mgda", {{"mode", "representation"}}}, "split"}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.label; });

fs::path fresh_dir(const std::string& name) {
  const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  fs::path dir = fs::temp_directory_path() / ("nddr_dist_weighting_" + test + "_" + name);
  fs::remove_all(dir);
  return dir;
}

// 4 steps on 2 ranks at once, and 2 + 2 through a checkpoint that every rank
// resumes from: the network, the optimizer and the weighting's state end
// bit-identical.
void expect_bit_exact_two_rank_resume(const WeightingSpec& weighting) {
  const auto data = scenes(16, 8);
  const auto loader = TrainLoaderOptions().batch_size(4).workers(0);
  constexpr int64_t kSteps = 4;
  auto nets = identical_nets(4, "nddr", 31);
  nets.push_back(identical_nets(1, "nddr", 32).front());  // resumed: all must come from the file
  nets.push_back(identical_nets(1, "nddr", 33).front());
  auto options = [&](const fs::path& dir, const std::shared_ptr<dist::ProcessGroup>& group) {
    return TrainOptions()
        .steps(kSteps)
        .seed(3)
        .optimizer(OptimizerOptions().lr(0.01))
        .weighting(weighting)
        .log_every(1)
        .checkpoint_every(0)
        .run_dir(dir.string())
        .collective(group);
  };
  std::vector<torch::Tensor> weighting_state(2);
  auto state_of = [](Weighting& method) {
    std::vector<torch::Tensor> flat;
    for (const auto& p : method.parameters()) flat.push_back(p.detach().reshape(-1).clone());
    for (const auto& b : method.buffers())
      flat.push_back(b.detach().to(torch::kDouble).reshape(-1));
    return flat.empty() ? torch::zeros({0}) : torch::cat(flat);
  };
  const fs::path full_dir = fresh_dir("full");
  // SyncBatchNorm: per-rank running statistics are averaged at every
  // checkpoint, which rounds differently from averaging them once at the end.
  testing::run_ranks(2, [&](std::shared_ptr<dist::ProcessGroup> group) {
    set_sync_batch_norm(*nets[group->rank()], group);
    Trainer trainer(nets[group->rank()], data, loader, options(full_dir, group));
    TrainObserver quiet;
    trainer.run(quiet);
    if (group->rank() == 0) weighting_state[0] = state_of(trainer.weighting());
  });
  const fs::path dir = fresh_dir("stopped");
  testing::run_ranks(2, [&](std::shared_ptr<dist::ProcessGroup> group) {
    set_sync_batch_norm(*nets[2 + group->rank()], group);
    Trainer trainer(nets[2 + group->rank()], data, loader,
                    options(dir, group).stop_after(kSteps / 2));
    TrainObserver quiet;
    trainer.run(quiet);
  });
  ASSERT_EQ(read_checkpoint_state((dir / "checkpoint.pt").string()).step, kSteps / 2);
  testing::run_ranks(2, [&](std::shared_ptr<dist::ProcessGroup> group) {
    set_sync_batch_norm(*nets[4 + group->rank()], group);
    Trainer trainer(nets[4 + group->rank()], data, loader, options(dir, group));
    trainer.resume_from((dir / "checkpoint.pt").string());
    TrainObserver quiet;
    trainer.run(quiet);
    if (group->rank() == 0) weighting_state[1] = state_of(trainer.weighting());
  });
  for (const auto& item : nets[0]->named_parameters()) {
    EXPECT_TRUE(torch::equal(item.value(), nets[4]->named_parameters()[item.key()])) << item.key();
    EXPECT_TRUE(torch::equal(item.value(), nets[5]->named_parameters()[item.key()])) << item.key();
  }
  for (const auto& item : nets[0]->named_buffers()) {
    EXPECT_TRUE(torch::equal(item.value(), nets[4]->named_buffers()[item.key()])) << item.key();
  }
  EXPECT_TRUE(torch::equal(weighting_state[0], weighting_state[1]));
}

TEST(DistributedWeightingResume, UncertaintyIsBitExact) {
  expect_bit_exact_two_rank_resume({"uncertainty", {}});
}

TEST(DistributedWeightingResume, PcgradIsBitExact) {
  expect_bit_exact_two_rank_resume({"pcgrad", {}});
}

}  // namespace
}  // namespace nddr
