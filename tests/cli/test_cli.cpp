// End-to-end tests of the nddr binary: each runs the real executable in a
// temporary directory on a tiny config (a few seconds each).

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <torch/script.h>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "nddr/config/config.h"
#include "nddr/config/network_config.h"
#include "nddr/data/transforms.h"
#include "nddr/io/image.h"
#include "nddr/io/safetensors.h"
#include "nddr/io/weights.h"
#include "nddr/tasks/results.h"
#include "tensorboard/tensorboard_reader.h"

#include "cli/cli_run.h"

namespace {

namespace fs = std::filesystem;

using nddr::testing::describe;
using nddr::testing::Output;
using nddr::testing::read_text;
using nddr::testing::run_cli;

// A temporary directory for one test.
class TempDir : public nddr::testing::TempDir {
 public:
  TempDir() : nddr::testing::TempDir("nddr_cli_") {}
};

// Three dense tasks on 32x32 synthetic scenes, a 1/16-width VGG: trains 4
// steps in about a second.
void write_tiny_config(const fs::path& path) {
  std::ofstream out(path);
  out << R"(name: tiny
output_dir: runs
seed: 3
threads: 1
device: cpu  # bit-identical resume needs deterministic kernels, which CUDA's atomics are not
network: {width: 0.0625, head_hidden: 16, head_dilation: 2, head_dropout: 0.0}
tasks:
  - {name: seg, kind: segmentation, channels: 4, loss_weight: 1}
  - {name: normals, kind: normals, channels: 3, loss_weight: 5}
  - {name: depth, kind: depth, channels: 1, loss_weight: 1}
data:
  train: {dataset: synthetic_scenes, options: {count: 16, height: 32, width: 32, classes: 2, seed: 1}}
  test: {dataset: synthetic_scenes, options: {count: 4, height: 32, width: 32, classes: 2, seed: 2}}
  workers: 0
train: {steps: 4, batch_size: 4, lr: 0.01, log_every: 1, checkpoint_every: 2}
eval: {batch_size: 4}
)";
}

// One tiny trained run shared by the eval and predict tests.
class TrainedRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    write_tiny_config(dir_->path() / "tiny.yaml");
    trained_ = new Output(run_cli(dir_->path(), "train -c tiny.yaml --quiet"));
  }
  static void TearDownTestSuite() {
    delete trained_;
    delete dir_;
  }
  void SetUp() override { ASSERT_EQ(trained_->code, 0) << describe(*trained_); }

  static fs::path dir() { return dir_->path(); }

  static TempDir* dir_;
  static Output* trained_;
};

TempDir* TrainedRun::dir_ = nullptr;
Output* TrainedRun::trained_ = nullptr;

// The subcommand names listed under "Subcommands:" in `nddr --help`.
std::vector<std::string> listed_subcommands(const std::string& help) {
  std::vector<std::string> names;
  const size_t section = help.find("Subcommands:");
  if (section == std::string::npos) return names;
  std::istringstream lines(help.substr(section));
  std::string line;
  std::getline(lines, line);
  while (std::getline(lines, line) && line.rfind("  ", 0) == 0) {
    names.push_back(line.substr(2, line.find(' ', 2) - 2));
  }
  return names;
}

TEST(Cli, HelpOfEverySubcommandExitsZero) {
  TempDir dir;
  const Output top = run_cli(dir.path(), "--help");
  ASSERT_EQ(top.code, 0) << describe(top);
  const std::vector<std::string> names = listed_subcommands(top.out);
  const std::vector<std::string> with_config = {"train",   "eval",  "info",
                                                "predict", "bench", "export"};
  for (const auto& command : with_config) {
    EXPECT_NE(std::find(names.begin(), names.end(), command), names.end()) << command;
  }
  for (const auto& command : names) {
    const Output help = run_cli(dir.path(), command + " --help");
    EXPECT_EQ(help.code, 0) << command << "\n" << describe(help);
    EXPECT_NE(help.out.find("Usage"), std::string::npos) << command;
    if (std::find(with_config.begin(), with_config.end(), command) != with_config.end()) {
      EXPECT_NE(help.out.find("--config"), std::string::npos) << command;
    }
  }
}

TEST(Cli, HelpConfigListsKeys) {
  TempDir dir;
  const Output help = run_cli(dir.path(), "train --help-config");
  EXPECT_EQ(help.code, 0) << describe(help);
  EXPECT_NE(help.out.find("train.steps"), std::string::npos);
  EXPECT_NE(help.out.find("network.fusion"), std::string::npos);
}

TEST(Cli, InfoReportsThePapersParameterCounts) {
  TempDir dir;
  const fs::path config = fs::path(NDDR_SOURCE_DIR) / "configs/nyuv2-vgg16-nddr.yaml";
  const std::string args = fs::exists(config) ? "-c '" + config.string() + "' " : "";
  const Output info = run_cli(dir.path(), "info " + args + "--json --no-flops");
  ASSERT_EQ(info.code, 0) << describe(info);
  const auto json = nlohmann::json::parse(info.out);
  EXPECT_EQ(json["parameters_by_role"]["fusion_weight"].get<int64_t>(), 2441216);
  EXPECT_EQ(json["parameters"]["total"].get<int64_t>(), 43471531);
}

TEST(Cli, UnknownKeySuggestsTheClosest) {
  TempDir dir;
  const Output info = run_cli(dir.path(), "info --no-flops train.stpes=3");
  EXPECT_NE(info.code, 0);
  EXPECT_NE(info.err.find("did you mean 'train.steps'"), std::string::npos) << describe(info);
}

TEST(Cli, BadValueNamesTheKey) {
  TempDir dir;
  const Output info = run_cli(dir.path(), "info --no-flops train.steps=many");
  EXPECT_NE(info.code, 0);
  EXPECT_NE(info.err.find("train.steps"), std::string::npos) << describe(info);
}

TEST(Cli, MissingConfigFileIsACleanError) {
  TempDir dir;
  for (const char* command :
       {"train", "eval", "info --no-flops", "bench", "predict -o out x.png"}) {
    const Output output = run_cli(dir.path(), std::string(command) + " -c absent.yaml");
    EXPECT_EQ(output.code, 2) << command << "\n" << describe(output);
    EXPECT_NE(output.err.find("absent.yaml"), std::string::npos) << command << "\n"
                                                                 << describe(output);
  }
}

TEST_F(TrainedRun, TrainWritesResultsAndWeights) {
  EXPECT_TRUE(fs::exists(dir() / "runs/tiny/results.json"));
  EXPECT_TRUE(fs::exists(dir() / "runs/tiny/weights.safetensors"));
  const auto results = nlohmann::json::parse(read_text(dir() / "runs/tiny/results.json"));
  EXPECT_FALSE(results.empty());
}

TEST_F(TrainedRun, EvalPrintsEachTasksMetricsAsJson) {
  const Output eval = run_cli(dir(), "eval -c tiny.yaml --json");
  ASSERT_EQ(eval.code, 0) << describe(eval);
  const auto metrics = nlohmann::json::parse(eval.out);
  for (const char* task : {"seg", "normals", "depth"}) {
    ASSERT_TRUE(metrics.contains(task)) << eval.out;
    EXPECT_FALSE(metrics[task].empty()) << task;
    for (const auto& value : metrics[task].items()) {
      EXPECT_TRUE(value.value().is_number()) << task << "." << value.key();
    }
  }
}

TEST_F(TrainedRun, PredictWritesPngsOfTheInputsSize) {
  // A size unlike the training images: outputs follow the input.
  nddr::write_png((dir() / "room.png").string(),
                  torch::randint(256, {24, 40, 3}, torch::kLong).to(torch::kByte));
  const Output predict = run_cli(dir(), "predict -c tiny.yaml -o pred room.png");
  ASSERT_EQ(predict.code, 0) << describe(predict);
  for (const char* task : {"seg", "normals", "depth"}) {
    const fs::path png = dir() / "pred" / (std::string("room_") + task + ".png");
    ASSERT_TRUE(fs::exists(png)) << png;
    const torch::Tensor image = nddr::read_image(png.string());
    EXPECT_EQ(image.sizes().vec(), (std::vector<int64_t>{24, 40, 3})) << task;
  }
}

TEST_F(TrainedRun, ExportWritesATorchScriptFileWithTheTasks) {
  const Output exported = run_cli(dir(), "export -c tiny.yaml -o deploy/tiny.pt");
  ASSERT_EQ(exported.code, 0) << describe(exported);
  torch::jit::ExtraFilesMap extra = {{"nddr.json", ""}};
  torch::jit::Module module =
      torch::jit::load((dir() / "deploy/tiny.pt").string(), torch::kCPU, extra);
  const auto metadata = nlohmann::json::parse(extra.at("nddr.json"));
  std::vector<std::string> names;
  for (const auto& output : metadata["outputs"]) names.push_back(output["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"seg", "normals", "depth"}));
  torch::NoGradGuard no_grad;
  const auto outputs = module.forward({torch::randn({1, 3, 24, 40})}).toTuple()->elements();
  EXPECT_EQ(outputs.size(), 3u);
}

TEST_F(TrainedRun, ExportOnnxWithoutPythonSaysWhatToInstall) {
  const Output exported = run_cli(
      dir(), "export -c tiny.yaml -o tiny.onnx --format onnx --python /nonexistent/python3");
  EXPECT_EQ(exported.code, 2) << describe(exported);
  EXPECT_NE(exported.err.find("python3-torch python3-onnx"), std::string::npos)
      << describe(exported);
  EXPECT_FALSE(fs::exists(dir() / "tiny.onnx"));
  EXPECT_FALSE(fs::exists(dir() / "tiny.onnx.torchscript.tmp"));
}

TEST_F(TrainedRun, ExportUnknownFormatIsAnError) {
  const Output exported = run_cli(dir(), "export -c tiny.yaml -o x.bin --format tflite");
  EXPECT_EQ(exported.code, 2) << describe(exported);
  EXPECT_NE(exported.err.find("tflite"), std::string::npos) << describe(exported);
}

// The run's TensorBoard log, read by TensorBoard's own reader, holds what
// log.jsonl and results.json hold.
TEST_F(TrainedRun, TensorBoardLogMatchesTheJsonlLog) {
  const std::string python = nddr::testing::venv_python();
  if (python.empty()) GTEST_SKIP() << "no venv with tensorboard (scripts/venv.sh)";
  const auto found = nddr::testing::read_events(python, dir() / "runs/tiny");
  ASSERT_FALSE(found.is_null());
  const auto& scalars = found["scalars"];
  std::istringstream log(read_text(dir() / "runs/tiny/log.jsonl"));
  int64_t steps = 0;
  for (std::string line; std::getline(log, line);) {
    const auto entry = nlohmann::json::parse(line);
    if (!entry.contains("loss")) continue;
    const int64_t step = entry["step"];
    auto value_at = [&](const std::string& tag) {
      for (const auto& point : scalars[tag]) {
        if (point[0] == step) return point[1].get<double>();
      }
      ADD_FAILURE() << tag << " has no value at step " << step;
      return 0.0;
    };
    EXPECT_FLOAT_EQ(value_at("loss/total"), entry["loss"].get<double>());
    for (const auto& task : entry["task_loss"].items()) {
      EXPECT_FLOAT_EQ(value_at("loss/" + task.key()), task.value().get<double>());
    }
    ++steps;
  }
  EXPECT_EQ(steps, 4);
  for (const char* group : {"lr/weight", "lr/no_decay", "lr/fusion_weight", "lr/last_weight",
                            "lr/last_bias", "images_per_second"}) {
    EXPECT_EQ(scalars[group].size(), 4u) << group << "\n" << found.dump();
  }
  const auto results = nlohmann::json::parse(read_text(dir() / "runs/tiny/results.json"));
  EXPECT_FLOAT_EQ(scalars["eval/seg/miou"][0][1].get<double>(),
                  results["tasks"]["seg"]["miou"].get<double>())
      << found.dump();
  for (const char* task : {"seg", "normals", "depth"}) {
    EXPECT_TRUE(found["images"].contains(std::string("prediction/") + task + "/0")) << task;
    EXPECT_TRUE(found["histograms"].contains(std::string("nddr/fusion.0/") + task + "/own"));
    EXPECT_TRUE(found["histograms"].contains(std::string("nddr/fusion.0/") + task + "/others"));
  }
}

TEST(Cli, TensorBoardKeyTurnsTheLogOff) {
  TempDir dir;
  write_tiny_config(dir.path() / "tiny.yaml");
  const Output train =
      run_cli(dir.path(), "train -c tiny.yaml --quiet train.steps=1 log.tensorboard=false");
  ASSERT_EQ(train.code, 0) << describe(train);
  for (const auto& entry : fs::directory_iterator(dir.path() / "runs/tiny")) {
    EXPECT_EQ(entry.path().filename().string().find("tfevents"), std::string::npos) << entry.path();
  }
}

TEST_F(TrainedRun, PredictMissingImageNamesItAndWritesNothing) {
  nddr::write_png((dir() / "present.png").string(), torch::zeros({16, 16, 3}, torch::kByte));
  const Output predict = run_cli(dir(), "predict -c tiny.yaml -o missing present.png absent.png");
  EXPECT_EQ(predict.code, 2) << describe(predict);
  EXPECT_NE(predict.err.find("absent.png"), std::string::npos) << describe(predict);
  EXPECT_FALSE(fs::exists(dir() / "missing" / "present_seg.png"));
  EXPECT_FALSE(fs::exists(dir() / "missing" / "absent_seg.png"));
}

TEST_F(TrainedRun, PredictMissingWeightsNamesThem) {
  nddr::write_png((dir() / "small.png").string(), torch::zeros({16, 16, 3}, torch::kByte));
  const Output predict =
      run_cli(dir(), "predict -c tiny.yaml -w nowhere.safetensors -o out small.png");
  EXPECT_EQ(predict.code, 2) << describe(predict);
  EXPECT_NE(predict.err.find("nowhere.safetensors"), std::string::npos) << describe(predict);
}

TEST(Cli, PredictPrintsClassificationLines) {
  TempDir dir;
  std::ofstream(dir.path() / "cls.yaml") << R"(threads: 1
network: {width: 0.0625, head_hidden: 16, head_dilation: 2}
tasks:
  - {name: digit, kind: classification, channels: 10}
  - {name: seg, kind: segmentation, channels: 4}
)";
  nddr::Config config;
  config.merge_file((dir.path() / "cls.yaml").string());
  torch::manual_seed(5);
  nddr::MultiTaskNet net(nddr::network_options_from_config(config));
  nddr::save_weights((dir.path() / "cls.safetensors").string(), *net);
  const torch::Tensor pixels = torch::randint(256, {20, 28, 3}, torch::kLong).to(torch::kByte);
  nddr::write_png((dir.path() / "digit.png").string(), pixels);

  const Output predict =
      run_cli(dir.path(), "predict -c cls.yaml -w cls.safetensors -o out digit.png");
  ASSERT_EQ(predict.code, 0) << describe(predict);
  std::istringstream line(predict.out);
  std::string image, task;
  int64_t index = -1;
  double probability = 0.0;
  line >> image >> task >> index >> probability;
  EXPECT_EQ(image, "digit.png") << predict.out;
  EXPECT_EQ(task, "digit") << predict.out;

  // The same forward pass in-process: mean_std normalisation is the default.
  torch::set_num_threads(1);
  torch::NoGradGuard no_grad;
  net->eval();
  const torch::Tensor input =
      nddr::normalize(pixels.permute({2, 0, 1}).to(torch::kFloat).div(255.0),
                      nddr::NormalizeOptions().mode("mean_std"));
  const torch::Tensor expected = net->forward(input.unsqueeze(0)).at("digit")[0].softmax(0);
  ASSERT_TRUE(index >= 0 && index < 10) << predict.out;
  // Near-ties may break either way; the printed class must be a maximum.
  EXPECT_NEAR(expected[index].item<double>(), expected.max().item<double>(), 1e-4);
  EXPECT_NEAR(probability, expected[index].item<double>(), 1e-4);
  EXPECT_TRUE(fs::exists(dir.path() / "out/digit_seg.png"));
  EXPECT_FALSE(fs::exists(dir.path() / "out/digit_digit.png"));
}

TEST(Cli, ResumedRunEqualsAnUninterruptedOne) {
  TempDir dir;
  write_tiny_config(dir.path() / "tiny.yaml");
  const Output whole = run_cli(dir.path(), "train -c tiny.yaml --quiet name=whole");
  ASSERT_EQ(whole.code, 0) << describe(whole);
  const Output stopped =
      run_cli(dir.path(), "train -c tiny.yaml --quiet name=parts --stop-after 2");
  ASSERT_EQ(stopped.code, 0) << describe(stopped);
  EXPECT_FALSE(fs::exists(dir.path() / "runs/parts/weights.safetensors"));
  const Output resumed = run_cli(dir.path(), "train -c tiny.yaml --quiet name=parts --resume");
  ASSERT_EQ(resumed.code, 0) << describe(resumed);

  const auto a = nddr::load_safetensors((dir.path() / "runs/whole/weights.safetensors").string());
  const auto b = nddr::load_safetensors((dir.path() / "runs/parts/weights.safetensors").string());
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (const auto& item : a.tensors) {
    ASSERT_TRUE(b.tensors.count(item.first)) << item.first;
    EXPECT_TRUE(torch::equal(item.second, b.tensors.at(item.first))) << item.first;
  }
  // The run changed the weights: the comparison is not between two inits.
  const Output fresh = run_cli(dir.path(), "train -c tiny.yaml --quiet name=one train.steps=1");
  ASSERT_EQ(fresh.code, 0) << describe(fresh);
  const auto c = nddr::load_safetensors((dir.path() / "runs/one/weights.safetensors").string());
  int64_t changed = 0;
  for (const auto& item : a.tensors)
    changed += !torch::equal(item.second, c.tensors.at(item.first));
  EXPECT_GT(changed, 0);
}

TEST(Cli, BenchJsonHasTheDocumentedKeys) {
  TempDir dir;
  write_tiny_config(dir.path() / "tiny.yaml");
  const Output bench =
      run_cli(dir.path(),
              "bench -c tiny.yaml --batch 2 --height 24 --width 40 --warmup 1 --iters 3 --json "
              "--torchscript");
  ASSERT_EQ(bench.code, 0) << describe(bench);
  const auto json = nlohmann::json::parse(bench.out);
  EXPECT_EQ(json["batch"], 2);
  EXPECT_EQ(json["height"], 24);
  EXPECT_EQ(json["width"], 40);
  EXPECT_EQ(json["threads"], 1);
  EXPECT_EQ(json["iters"], 3);
  for (const char* phase :
       {"inference", "inference_folded", "inference_torchscript", "train_step"}) {
    ASSERT_TRUE(json.contains(phase)) << bench.out;
    const auto& timing = json[phase];
    for (const char* key : {"median_ms", "mean_ms", "images_per_second", "peak_rss_mib"}) {
      ASSERT_TRUE(timing[key].is_number()) << phase << "." << key;
      EXPECT_GT(timing[key].get<double>(), 0.0) << phase << "." << key;
    }
    EXPECT_NEAR(timing["images_per_second"].get<double>(),
                2 * 1000.0 / timing["mean_ms"].get<double>(), 1e-6);
  }
}

TEST(Cli, BenchDefaultsToTheConfigsBatchAndTestImageSize) {
  TempDir dir;
  write_tiny_config(dir.path() / "tiny.yaml");
  const Output bench =
      run_cli(dir.path(), "bench -c tiny.yaml threads=2 --threads 1 --warmup 0 --iters 1 --json");
  ASSERT_EQ(bench.code, 0) << describe(bench);
  const auto json = nlohmann::json::parse(bench.out);
  EXPECT_EQ(json["batch"], 4);
  EXPECT_EQ(json["height"], 32);
  EXPECT_EQ(json["width"], 32);
  // --threads wins over the config's threads key.
  EXPECT_EQ(json["threads"], 1);
}

TEST(Cli, CompareRestrictsColumnsAndDeltaMToChosenMetrics) {
  TempDir dir;
  const auto write = [&](const std::string& name, double miou, double acc) {
    nddr::RunResults results;
    results.method = name;
    results.tasks["seg"] = {{"miou", miou}, {"pixel_acc", acc}};
    results.higher_is_better["seg"] = {{"miou", true}, {"pixel_acc", true}};
    nddr::save_results((dir.path() / (name + ".json")).string(), results);
  };
  write("single", 0.4, 0.8);
  write("nddr", 0.5, 0.7);  // miou +25 %, pixel_acc -12.5 %

  const Output all = run_cli(dir.path(), "compare single.json nddr.json -s single.json");
  ASSERT_EQ(all.code, 0) << all.err;
  EXPECT_NE(all.out.find("seg pixel_acc"), std::string::npos) << all.out;
  EXPECT_NE(all.out.find(" 6.2500 |"), std::string::npos) << all.out;  // (+25 - 12.5) / 2

  const Output miou =
      run_cli(dir.path(), "compare single.json nddr.json -s single.json -m seg.miou");
  ASSERT_EQ(miou.code, 0) << miou.err;
  EXPECT_EQ(miou.out.find("pixel_acc"), std::string::npos) << miou.out;
  EXPECT_NE(miou.out.find(" 25.00 |"), std::string::npos) << miou.out;

  const Output bad = run_cli(dir.path(), "compare nddr.json -m seg.mIoU");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("seg.mIoU"), std::string::npos) << bad.err;
}

}  // namespace
