#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "nddr/compat.h"
#include "nddr/data/synthetic_scenes.h"
#include "nddr/train/execution.h"
#include "nddr/train/run.h"
#include "nddr/train/trainer.h"
#include "nddr/util/error.h"
#include "train/train_helpers.h"

namespace nddr {
namespace {

using testing::tiny_network;

// The message of the Error `body` throws ("" when it throws none).
template <typename Body>
std::string error_of(Body&& body) {
  try {
    body();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Device, CpuAndAutoResolve) {
  EXPECT_EQ(resolve_device("cpu"), torch::Device(torch::kCPU));
  const torch::Device automatic = resolve_device("auto");
  if (torch::cuda::is_available()) {
    EXPECT_EQ(automatic, torch::Device(torch::kCUDA, 0));
  } else {
    EXPECT_EQ(automatic, torch::Device(torch::kCPU));
  }
}

TEST(Device, MalformedValuesNameTheKey) {
  for (const std::string value : {"gpu", "cuda:", "cuda:x", "cuda:-1", "CPU", ""}) {
    const std::string message = error_of([&] { resolve_device(value, "device"); });
    EXPECT_NE(message.find("device: unknown device '" + value + "'"), std::string::npos)
        << value << ": " << message;
    EXPECT_NE(message.find("auto, cpu, cuda, cuda:N"), std::string::npos) << message;
  }
}

TEST(Device, UnavailableCudaIsAClearError) {
  const int64_t count =
      torch::cuda::is_available() ? static_cast<int64_t>(torch::cuda::device_count()) : 0;
  const std::string beyond = "cuda:" + std::to_string(count);
  const std::string message = error_of([&] { resolve_device(beyond, "device"); });
  EXPECT_NE(message.find("device: device '" + beyond + "' asked for"), std::string::npos)
      << message;
  if (count == 0) {
    const std::string plain = error_of([] { resolve_device("cuda", "device"); });
    EXPECT_NE(plain.find("device: device 'cuda' asked for, but"), std::string::npos) << plain;
  }
}

TEST(Device, ConfigKeysGiveTheExecutionOptions) {
  Config config;
  for (const char* assignment : {"device=cpu", "precision=bf16", "channels_last=true",
                                 "cudnn.benchmark=false", "cudnn.deterministic=true"}) {
    config.apply_override(assignment);
  }
  const ExecutionOptions execution = execution_options(config);
  EXPECT_EQ(execution.device(), torch::Device(torch::kCPU));
  EXPECT_EQ(execution.precision(), Precision::kBf16);
  EXPECT_TRUE(execution.channels_last());
  EXPECT_FALSE(execution.cudnn_benchmark());
  EXPECT_TRUE(execution.deterministic());
  EXPECT_EQ(train_options(config).execution().precision(), Precision::kBf16);

  config.apply_override("channels_last=auto");
  EXPECT_TRUE(execution_options(config).channels_last());  // bf16 on the CPU
  config.apply_override("precision=fp32");
  EXPECT_FALSE(execution_options(config).channels_last());
  config.apply_override("channels_last=sometimes");
  EXPECT_NE(error_of([&] { execution_options(config); }).find("channels_last: expected auto"),
            std::string::npos);
  config.apply_override("channels_last=false");

  config.apply_override("device=tpu");
  EXPECT_NE(error_of([&] { execution_options(config); }).find("device: unknown device 'tpu'"),
            std::string::npos);
  config.apply_override("device=cpu");
  config.apply_override("precision=fp16");
  EXPECT_NE(error_of([&] { execution_options(config); }).find("precision: fp16 needs a CUDA"),
            std::string::npos);
}

TEST(Precision, ParsesAndRejects) {
  EXPECT_EQ(parse_precision("fp32"), Precision::kFp32);
  EXPECT_EQ(parse_precision("bf16"), Precision::kBf16);
  EXPECT_EQ(parse_precision("fp16"), Precision::kFp16);
  const std::string message = error_of([] { parse_precision("half", "precision"); });
  EXPECT_NE(message.find("precision: unknown precision 'half'; valid: fp32, bf16, fp16"),
            std::string::npos)
      << message;
  const std::string cpu_fp16 =
      error_of([] { check_precision(Precision::kFp16, torch::Device(torch::kCPU), "precision"); });
  EXPECT_NE(cpu_fp16.find("precision: fp16 needs a CUDA device"), std::string::npos) << cpu_fp16;
  EXPECT_NO_THROW(check_precision(Precision::kBf16, torch::Device(torch::kCPU)));
}

TEST(Autocast, Bf16ScopeRunsConvolutionsInBf16AndRestores) {
  const auto input = torch::randn({2, 3, 8, 8});
  const auto weight = torch::randn({4, 3, 3, 3});
  const ExecutionOptions bf16 = ExecutionOptions().precision(Precision::kBf16);
  torch::Tensor inside;
  {
    const PrecisionScope scope(bf16);
    inside = torch::conv2d(input, weight);
    // Nested scopes restore the outer one, not "off".
    { const PrecisionScope nested(bf16); }
    EXPECT_EQ(torch::conv2d(input, weight).scalar_type(), torch::kBFloat16);
  }
  EXPECT_EQ(inside.scalar_type(), torch::kBFloat16);
  const torch::Tensor outside = torch::conv2d(input, weight);
  EXPECT_EQ(outside.scalar_type(), torch::kFloat);
  // bf16 keeps 8 significant bits: the product agrees to about 1%.
  const double relative =
      ((inside.to(torch::kFloat) - outside).norm() / outside.norm()).item<double>();
  EXPECT_GT(relative, 0.0);
  EXPECT_LT(relative, 2e-2);
  { const PrecisionScope fp32(ExecutionOptions{}); }
  EXPECT_EQ(torch::conv2d(input, weight).scalar_type(), torch::kFloat);
}

TEST(Autocast, Bf16NetworkForwardMatchesFp32AndKeepsMasterWeights) {
  torch::manual_seed(3);
  MultiTaskNet net(tiny_network("nddr"));
  net->eval();
  torch::NoGradGuard no_grad;
  const auto images = torch::randn({2, 3, 32, 32});
  const auto reference = net->forward(images);
  std::map<std::string, torch::Tensor> mixed;
  {
    const PrecisionScope scope(ExecutionOptions().precision(Precision::kBf16));
    mixed = net->forward(images);
  }
  for (const auto& [name, output] : reference) {
    const torch::Tensor low = mixed.at(name).to(torch::kFloat);
    const double relative = ((low - output).norm() / output.norm()).item<double>();
    EXPECT_LT(relative, 0.1) << name;
  }
  for (const auto& parameter : net->parameters()) EXPECT_EQ(parameter.scalar_type(), torch::kFloat);
  for (const auto& buffer : net->buffers()) {
    if (buffer.is_floating_point()) {
      EXPECT_EQ(buffer.scalar_type(), torch::kFloat);
    }
  }
}

TEST(Autocast, Bf16TrainingStepsKeepFp32StateAndLowerTheLoss) {
  torch::manual_seed(5);
  const auto data = std::make_shared<SyntheticScenes>(
      SyntheticScenesOptions().height(32).width(32).count(4).seed(2));
  Trainer trainer(MultiTaskNet(tiny_network("nddr")), data, TrainLoaderOptions().batch_size(4),
                  TrainOptions()
                      .steps(30)
                      .seed(1)
                      .optimizer(OptimizerOptions().lr(0.003))
                      .execution(ExecutionOptions().precision(Precision::kBf16)));
  const Batch batch = load_train_batch(*data, TrainLoaderOptions().batch_size(4), 0);
  std::vector<double> losses;
  for (int64_t step = 0; step < 30; ++step) {
    losses.push_back(trainer.train_step(batch, step).total_loss);
  }
  EXPECT_TRUE(std::isfinite(losses.back()));
  EXPECT_LT(losses.back(), 0.8 * losses.front());
  for (const auto& group : trainer.optimizer().param_groups()) {
    for (const auto& parameter : group.params()) {
      EXPECT_EQ(parameter.scalar_type(), torch::kFloat);
      EXPECT_EQ(parameter.grad().scalar_type(), torch::kFloat);
    }
  }
}

TEST(ChannelsLast, NetworkOutputsEqualContiguous) {
  torch::manual_seed(4);
  MultiTaskNet net(tiny_network("nddr"));
  net->eval();
  torch::NoGradGuard no_grad;
  const Batch batch{torch::randn({2, 3, 32, 32}), {}};
  const auto reference = net->forward(batch.images);
  const ExecutionOptions nhwc = ExecutionOptions().channels_last(true);
  place_network(*net, nhwc);
  const Batch moved = to_device(batch, nhwc);
  EXPECT_TRUE(moved.images.is_contiguous(torch::MemoryFormat::ChannelsLast));
  const auto outputs = net->forward(moved.images);
  for (const auto& [name, output] : reference) {
    EXPECT_TRUE(torch::allclose(outputs.at(name), output, 1e-4, 1e-5)) << name;
  }
}

TEST(DeviceFeed, HandsOverBatchesInOrderAndFormat) {
  DeviceFeed feed(ExecutionOptions().channels_last(true));
  const Batch first{torch::randn({2, 3, 8, 8}), {{"seg", torch::zeros({2, 8, 8}, torch::kLong)}}};
  const Batch second{torch::randn({2, 3, 8, 8}), {{"seg", torch::ones({2, 8, 8}, torch::kLong)}}};
  feed.put(first);
  EXPECT_THROW(feed.put(second), c10::Error);  // the first was not taken yet
  const Batch a = feed.take();
  feed.put(second);
  const Batch b = feed.take();
  EXPECT_THROW(feed.take(), c10::Error);
  EXPECT_TRUE(torch::equal(a.images, first.images));
  EXPECT_TRUE(torch::equal(b.targets.at("seg"), second.targets.at("seg")));
  EXPECT_TRUE(b.images.is_contiguous(torch::MemoryFormat::ChannelsLast));
}

TEST(Trainer, LogReportsTheDataWaitFraction) {
  const auto data = std::make_shared<SyntheticScenes>(
      SyntheticScenesOptions().height(32).width(32).count(4).seed(2));
  const auto dir = std::filesystem::temp_directory_path() / "nddr_execution_wait";
  std::filesystem::remove_all(dir);
  torch::manual_seed(1);
  Trainer trainer(MultiTaskNet(tiny_network("nddr")), data,
                  TrainLoaderOptions().batch_size(2).workers(0),
                  TrainOptions().steps(4).log_every(2).checkpoint_every(0).run_dir(dir.string()));
  struct Reports : TrainObserver {
    void on_step(const StepReport& report) override {
      fractions.push_back(report.data_wait_fraction);
    }
    std::vector<double> fractions;
  } reports;
  trainer.run(reports);
  ASSERT_EQ(reports.fractions.size(), 2u);
  std::ifstream log(dir / "log.jsonl");
  int lines = 0;
  for (std::string line; std::getline(log, line); ++lines) {
    const auto entry = nlohmann::json::parse(line);
    const double fraction = entry.at("data_wait_fraction").get<double>();
    // workers(0) loads inside next(): the wait is real and below the whole.
    EXPECT_GT(fraction, 0.0) << line;
    EXPECT_LT(fraction, 1.0) << line;
    EXPECT_EQ(fraction, reports.fractions[static_cast<size_t>(lines)]);
  }
  EXPECT_EQ(lines, 2);
}

}  // namespace
}  // namespace nddr
