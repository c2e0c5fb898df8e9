#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/network_helpers.h"
#include "nddr/deploy/torchscript_export.h"
#include "nddr/io/npy.h"
#include "nddr/util/error.h"
#include "python_tools.h"
#include "support/temp_dir.h"

namespace nddr {
namespace {

using testing::mixed_tasks;
using testing::network;
using testing::randomise_batchnorms;

struct ExportCase {
  std::string backbone;
  std::string method;
  size_t tasks;
  std::string name() const { return backbone + "_" + method + "_" + std::to_string(tasks); }
};

// Every fusion method (two tasks: segmentation + classification), ResNet's
// residual blocks, and all four task kinds with the resizing shortcut.
std::vector<ExportCase> export_cases() {
  std::vector<ExportCase> cases;
  for (const auto& method : fusion_methods()) cases.push_back({"vgg16_largefov", method, 2});
  cases.push_back({"resnet18", "nddr", 2});
  cases.push_back({"resnet18", "sluice", 3});
  cases.push_back({"vgg16_largefov", "nddr_shortcut", 4});
  return cases;
}

MultiTaskNet make_net(const ExportCase& c) {
  torch::manual_seed(11);
  MultiTaskNet net(network(c.backbone, 0.125, c.method, mixed_tasks(c.tasks)));
  randomise_batchnorms(*net);
  net->eval();
  return net;
}

ExportOptions trace_options() { return ExportOptions().height(32).width(32); }

// The trace size and one unlike it in batch, height and width (not a
// multiple of the stride): the graph must not have kept the trace's sizes.
std::vector<torch::Tensor> inputs() {
  torch::manual_seed(12);
  return {torch::randn({2, 3, 32, 32}), torch::randn({1, 3, 44, 57})};
}

std::vector<torch::Tensor> expected_outputs(MultiTaskNet& net, const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  const auto outputs = net->forward(images);
  std::vector<torch::Tensor> ordered;
  for (const auto& task : net->tasks()) ordered.push_back(outputs.at(task.name));
  return ordered;
}

void expect_close(const torch::Tensor& actual, const torch::Tensor& expected,
                  const std::string& what) {
  ASSERT_EQ(actual.sizes(), expected.sizes()) << what;
  EXPECT_LT((actual - expected).abs().max().item<double>(), 1e-4) << what;
}

class TorchScriptExport : public ::testing::TestWithParam<ExportCase> {};

TEST_P(TorchScriptExport, LoadedModuleMatchesTheNetworkAtTwoSizes) {
  MultiTaskNet net = make_net(GetParam());
  testing::TempDir dir;
  const std::string path = dir.file("net.pt");
  export_torchscript(*net, path, trace_options());

  torch::jit::ExtraFilesMap extra = {{kExportMetadataFile, ""}};
  torch::jit::Module loaded = torch::jit::load(path, torch::kCPU, extra);
  const auto metadata = nlohmann::json::parse(extra.at(kExportMetadataFile));
  ASSERT_EQ(metadata["outputs"].size(), net->tasks().size());
  for (size_t k = 0; k < net->tasks().size(); ++k) {
    EXPECT_EQ(metadata["outputs"][k]["name"], net->tasks()[k].name);
    EXPECT_EQ(metadata["outputs"][k]["kind"], to_string(net->tasks()[k].kind));
  }
  EXPECT_EQ(metadata["output_stride"], 8);

  for (const auto& images : inputs()) {
    const auto expected = expected_outputs(net, images);
    torch::NoGradGuard no_grad;
    const auto outputs = loaded.forward({images}).toTuple()->elements();
    ASSERT_EQ(outputs.size(), expected.size());
    for (size_t k = 0; k < expected.size(); ++k) {
      expect_close(outputs[k].toTensor(), expected[k],
                   net->tasks()[k].name + " at " + c10::str(images.sizes()));
    }
  }
}

TEST_P(TorchScriptExport, FrozenGraphHoldsNoBatchNorm) {
  MultiTaskNet net = make_net(GetParam());
  const torch::jit::Module module = trace_network(*net, trace_options());
  const std::string graph = module.get_method("forward").graph()->toString();
  EXPECT_EQ(graph.find("batch_norm"), std::string::npos) << graph;
  const std::string& method = GetParam().method;
  if (method == "nddr_shortcut" || method == "sluice") {
    // Stage maps are resized to the last one's size, read from the graph.
    EXPECT_NE(graph.find("aten::size"), std::string::npos) << graph;
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, TorchScriptExport, ::testing::ValuesIn(export_cases()),
                         [](const auto& info) { return info.param.name(); });

TEST(TorchScriptExportErrors, TooSmallTraceSizeNamesTheMinimum) {
  MultiTaskNet net = make_net({"vgg16_largefov", "nddr", 2});
  try {
    trace_network(*net, ExportOptions().height(8).width(32));
    FAIL() << "no Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("at least 16"), std::string::npos) << e.what();
  }
}

// Writes each case's export and inputs into `dir` as <case>.pt and
// <case>.input<k>.npy; returns the nddr outputs per case and input.
std::map<std::string, std::vector<std::vector<torch::Tensor>>> write_cases(
    const testing::TempDir& dir, const std::vector<ExportCase>& cases, bool onnx_names) {
  std::map<std::string, std::vector<std::vector<torch::Tensor>>> expected;
  const auto images = inputs();
  for (const auto& c : cases) {
    MultiTaskNet net = make_net(c);
    export_torchscript(*net, dir.file(c.name() + (onnx_names ? ".ts" : ".pt")), trace_options());
    for (size_t k = 0; k < images.size(); ++k) {
      save_npy(dir.file(c.name() + ".input" + std::to_string(k) + ".npy"), images[k]);
      expected[c.name()].push_back(expected_outputs(net, images[k]));
    }
  }
  return expected;
}

void expect_saved_outputs_match(
    const testing::TempDir& dir, const std::vector<ExportCase>& cases,
    const std::map<std::string, std::vector<std::vector<torch::Tensor>>>& expected,
    const std::string& tag) {
  for (const auto& c : cases) {
    const auto tasks = mixed_tasks(c.tasks);
    for (size_t k = 0; k < expected.at(c.name()).size(); ++k) {
      for (size_t t = 0; t < tasks.size(); ++t) {
        const std::string file =
            dir.file(c.name() + "." + tag + std::to_string(k) + "." + tasks[t].name + ".npy");
        ASSERT_TRUE(std::filesystem::exists(file)) << file;
        expect_close(load_npy(file), expected.at(c.name())[k][t], file);
      }
    }
  }
}

TEST(TorchScriptExportPython, TorchJitLoadMatchesTheNetwork) {
  if (!testing::python_imports(testing::kDebianPython, "torch, numpy")) {
    GTEST_SKIP() << testing::kDebianPython << " lacks torch (Debian: python3-torch)";
  }
  testing::TempDir dir;
  const auto cases = export_cases();
  const auto expected = write_cases(dir, cases, /*onnx_names=*/false);
  const std::string script = std::string(NDDR_SOURCE_DIR) + "/tests/deploy/run_torchscript.py";
  ASSERT_EQ(testing::run_command(std::string(testing::kDebianPython) + " " + script + " " +
                                 dir.path().string()),
            0);
  expect_saved_outputs_match(dir, cases, expected, "python");
}

// ONNX for the cases that resize stage maps (shortcut, sluice) and mix all kinds.
std::vector<ExportCase> onnx_cases() {
  return {{"vgg16_largefov", "nddr_shortcut", 4}, {"resnet18", "sluice", 3}};
}

void export_onnx_files(const testing::TempDir& dir, const std::vector<ExportCase>& cases) {
  const std::string script = std::string(NDDR_SOURCE_DIR) + "/scripts/export_onnx.py";
  for (const auto& c : cases) {
    const std::string command = std::string(testing::kDebianPython) + " " + script + " " +
                                dir.file(c.name() + ".ts") + " " + dir.file(c.name() + ".onnx");
    ASSERT_EQ(testing::run_command(command), 0) << command;
  }
}

TEST(OnnxExport, CheckerPassesAndOnnxRuntimeMatchesTheNetwork) {
  if (!testing::python_imports(testing::kDebianPython, "torch, onnx")) {
    GTEST_SKIP() << testing::kDebianPython << " lacks torch or onnx (python3-torch, python3-onnx)";
  }
  testing::TempDir dir;
  const auto cases = onnx_cases();
  const auto expected = write_cases(dir, cases, /*onnx_names=*/true);
  // export_onnx.py exits non-zero unless onnx.checker.check_model passes.
  export_onnx_files(dir, cases);
  const std::string venv = testing::venv_python();
  if (venv.empty()) GTEST_SKIP() << "checker passed; no venv (scripts/venv.sh) for onnxruntime";
  const std::string script = std::string(NDDR_SOURCE_DIR) + "/tests/deploy/run_onnx.py";
  ASSERT_EQ(testing::run_command(venv + " " + script + " " + dir.path().string()), 0);
  expect_saved_outputs_match(dir, cases, expected, "onnx");
}

}  // namespace
}  // namespace nddr
