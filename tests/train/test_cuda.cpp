// CUDA against CPU. Every test here skips where no CUDA device is present
// (and in builds without CUDA); scripts/check_gpu.sh runs them on a GPU.

#include <gtest/gtest.h>

#include <filesystem>

#include "nddr/data/synthetic_scenes.h"
#include "nddr/train/checkpoint.h"
#include "nddr/train/evaluator.h"
#include "nddr/train/execution.h"
#include "nddr/train/trainer.h"
#include "train/train_helpers.h"

namespace nddr {
namespace {

namespace fs = std::filesystem;

#define NDDR_REQUIRE_CUDA()                                            \
  if (!torch::cuda::is_available()) {                                  \
    GTEST_SKIP() << "no CUDA device (or a LibTorch built without it)"; \
  }

const ExecutionOptions kCuda = ExecutionOptions().device(torch::Device(torch::kCUDA, 0));

// "single" keeps one task, "split" shares two stages.
NetworkOptions tiny_network(const std::string& fusion) {
  NetworkOptions options = testing::tiny_network(fusion);
  if (fusion == "single") options.tasks.resize(1);
  if (fusion == "split") options.fusion.split_stage = 2;
  return options;
}

std::shared_ptr<const Dataset> scenes(int64_t count) { return testing::tiny_scenes(count, 9); }

// TF32 (on by default for cuDNN convolutions) rounds to 10 mantissa bits;
// the fp32 comparisons below need true fp32.
class NoTf32 {
 public:
  NoTf32() : previous_(at::globalContext().allowTF32CuDNN()) {
    at::globalContext().setAllowTF32CuDNN(false);
  }
  ~NoTf32() { at::globalContext().setAllowTF32CuDNN(previous_); }

 private:
  bool previous_;
};

double max_relative(const torch::Tensor& actual, const torch::Tensor& expected) {
  const auto a = actual.to(torch::kCPU, torch::kDouble), e = expected.to(torch::kDouble);
  return ((a - e).abs().max() / e.abs().max().clamp_min(1e-12)).item<double>();
}

TEST(Cuda, ForwardEqualsCpuForEveryFusionMethod) {
  NDDR_REQUIRE_CUDA();
  const NoTf32 fp32;
  for (const auto& method : fusion_methods()) {
    torch::manual_seed(1);
    MultiTaskNet net(tiny_network(method));
    net->eval();
    torch::NoGradGuard no_grad;
    const auto images = torch::randn({2, 3, 32, 32});
    const auto on_cpu = net->forward(images);
    place_network(*net, kCuda);
    const auto on_cuda = net->forward(images.to(kCuda.device()));
    for (const auto& [name, expected] : on_cpu) {
      EXPECT_TRUE(on_cuda.at(name).is_cuda());
      EXPECT_LT(max_relative(on_cuda.at(name), expected), 1e-4) << method << " " << name;
    }
  }
}

TEST(Cuda, EvalMetricsAgreeWithCpu) {
  NDDR_REQUIRE_CUDA();
  const NoTf32 fp32;
  torch::manual_seed(2);
  MultiTaskNet net(tiny_network("nddr"));
  const auto data = scenes(6);
  const auto loader = EvalLoaderOptions().batch_size(4);
  const Evaluation on_cpu = evaluate(*net, data, loader);
  place_network(*net, kCuda);
  const Evaluation on_cuda = evaluate(*net, data, loader, kCuda);
  for (const auto& [task, metrics] : on_cpu.metrics) {
    for (const auto& [metric, value] : metrics) {
      EXPECT_NEAR(on_cuda.metrics.at(task).at(metric), value, 1e-4 * std::max(1.0, std::abs(value)))
          << task << " " << metric;
    }
  }
}

using testing::fresh_dir;

// Trains 3 steps on `from`, checkpoints, resumes on `to`: the resumed weights
// equal the saved ones and the run continues there.
void check_checkpoint_moves(const ExecutionOptions& from, const ExecutionOptions& to,
                            const std::string& name) {
  const auto data = scenes(8);
  const auto loader = TrainLoaderOptions().batch_size(2).workers(1);
  const fs::path dir = fresh_dir(name);
  auto options = [&](const ExecutionOptions& execution) {
    return TrainOptions()
        .steps(6)
        .seed(4)
        .log_every(1)
        .checkpoint_every(0)
        .run_dir(dir.string())
        .execution(execution);
  };
  TrainObserver quiet;
  torch::manual_seed(3);
  MultiTaskNet first(tiny_network("nddr"));
  Trainer writer(first, data, loader, options(from).stop_after(3));
  writer.run(quiet);
  torch::manual_seed(4);
  MultiTaskNet second(tiny_network("nddr"));
  Trainer reader(second, data, loader, options(to));
  reader.resume_from((dir / "checkpoint.pt").string());
  EXPECT_EQ(reader.step(), 3);
  const auto saved = first->named_parameters();
  for (const auto& item : second->named_parameters()) {
    EXPECT_EQ(item.value().device(), to.device()) << item.key();
    EXPECT_TRUE(torch::equal(item.value().cpu(), saved[item.key()].cpu())) << item.key();
  }
  reader.run(quiet);
  EXPECT_EQ(reader.step(), 6);
}

TEST(Cuda, CheckpointMovesBetweenDevices) {
  NDDR_REQUIRE_CUDA();
  check_checkpoint_moves(kCuda, ExecutionOptions(), "to_cpu");
  check_checkpoint_moves(ExecutionOptions(), kCuda, "to_cuda");
}

// A few steps on one fixed batch at `precision`: the loss must fall.
void check_loss_falls(Precision precision) {
  torch::manual_seed(5);
  const auto data = scenes(4);
  Trainer trainer(MultiTaskNet(tiny_network("nddr")), data, TrainLoaderOptions().batch_size(4),
                  TrainOptions()
                      .steps(30)
                      .seed(1)
                      .optimizer(OptimizerOptions().lr(0.003))
                      .execution(ExecutionOptions(kCuda).precision(precision)));
  const Batch batch = load_train_batch(*data, TrainLoaderOptions().batch_size(4), 0);
  std::vector<double> losses;
  for (int64_t step = 0; step < 30; ++step) {
    losses.push_back(trainer.train_step(batch, step).total_loss);
  }
  EXPECT_TRUE(std::isfinite(losses.back())) << to_string(precision);
  EXPECT_LT(losses.back(), 0.8 * losses.front()) << to_string(precision);
}

TEST(Cuda, Bf16TrainingLossFalls) {
  NDDR_REQUIRE_CUDA();
  check_loss_falls(Precision::kBf16);
}

TEST(Cuda, Fp16TrainingWithLossScalingLossFalls) {
  NDDR_REQUIRE_CUDA();
  check_loss_falls(Precision::kFp16);
}

}  // namespace
}  // namespace nddr
