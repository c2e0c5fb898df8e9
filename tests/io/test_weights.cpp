#include "nddr/io/weights.h"

#include <gtest/gtest.h>

#include "nddr/io/safetensors.h"
#include "nddr/util/error.h"
#include "support/temp_dir.h"

namespace nddr {
namespace {

using testing::TempDir;

// A torchvision-like column: conv (with and without bias), BN, a numbered Sequential.
struct ColumnImpl : torch::nn::Module {
  ColumnImpl() {
    conv1 =
        register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3).bias(false)));
    bn1 = register_module("bn1", torch::nn::BatchNorm2d(4));
    layer1 = register_module("layer1",
                             torch::nn::Sequential(torch::nn::Conv2d(4, 2, 1), torch::nn::ReLU()));
  }
  torch::nn::Conv2d conv1{nullptr};
  torch::nn::BatchNorm2d bn1{nullptr};
  torch::nn::Sequential layer1{nullptr};
};
TORCH_MODULE(Column);

struct NetworkImpl : torch::nn::Module {
  NetworkImpl() {
    auto columns = register_module("columns", std::make_shared<torch::nn::Module>());
    seg = columns->register_module("seg", Column());
    depth = columns->register_module("depth", Column());
    head = register_module("head", torch::nn::Linear(2, 3));
  }
  Column seg{nullptr}, depth{nullptr};
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(Network);

// Fills every parameter and buffer with distinct random values.
void randomize(torch::nn::Module& module, int seed) {
  torch::manual_seed(seed);
  torch::NoGradGuard no_grad;
  for (auto& [name, tensor] : state_dict(module)) {
    if (tensor.is_floating_point()) {
      tensor.uniform_(0.1, 1.0);
    } else {
      tensor.fill_(seed);
    }
  }
}

std::map<std::string, torch::Tensor> snapshot(const torch::nn::Module& module) {
  std::map<std::string, torch::Tensor> copy;
  for (const auto& [name, tensor] : state_dict(module)) copy[name] = tensor.clone();
  return copy;
}

bool equal_maps(const std::map<std::string, torch::Tensor>& a,
                const std::map<std::string, torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [name, tensor] : a) {
    if (!b.count(name) || !b.at(name).equal(tensor)) return false;
  }
  return true;
}

std::string error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

void expect_contains(const std::string& text, const std::string& fragment) {
  EXPECT_NE(text.find(fragment), std::string::npos) << "'" << fragment << "' not in: " << text;
}

TEST(Weights, StateDictHasParametersAndBuffersByName) {
  Column column;
  const auto tensors = state_dict(*column);
  std::vector<std::string> names;
  for (const auto& item : tensors) names.push_back(item.first);
  const std::vector<std::string> expected = {"bn1.bias",         "bn1.num_batches_tracked",
                                             "bn1.running_mean", "bn1.running_var",
                                             "bn1.weight",       "conv1.weight",
                                             "layer1.0.bias",    "layer1.0.weight"};
  EXPECT_EQ(names, expected);
  EXPECT_EQ(tensors.at("conv1.weight").sizes(), torch::IntArrayRef({4, 3, 3, 3}));
  EXPECT_EQ(tensors.at("bn1.num_batches_tracked").scalar_type(), torch::kLong);
  // Shares storage with the module, as PyTorch's state_dict does.
  tensors.at("bn1.running_mean").fill_(7);
  EXPECT_TRUE(column->bn1->running_mean.eq(7).all().item<bool>());
  EXPECT_FALSE(tensors.at("conv1.weight").requires_grad());
}

TEST(Weights, SaveLoadRoundTripIncludesBuffers) {
  TempDir dir;
  Network saved, loaded;
  randomize(*saved, 3);
  randomize(*loaded, 4);
  const std::string path = dir.file("net.safetensors");
  save_weights(path, *saved, {{"epoch", "12"}});
  EXPECT_EQ(load_safetensors(path).metadata.at("epoch"), "12");
  load_weights(*loaded, path);
  EXPECT_TRUE(equal_maps(snapshot(*loaded), snapshot(*saved)));
  EXPECT_TRUE(loaded->seg->conv1->weight.requires_grad());
}

TEST(Weights, StrictErrorListsEverythingAndLeavesModuleUntouched) {
  Network network;
  randomize(*network, 5);
  const auto before = snapshot(*network);
  auto tensors = snapshot(*network);
  for (auto& item : tensors) item.second = item.second + 1;
  tensors.erase("head.bias");
  tensors.erase("columns.depth.bn1.running_var");
  tensors["head.extra"] = torch::zeros({5});
  tensors["columns.seg.conv1.weight"] = torch::zeros({4, 3, 5, 5});

  const std::string message = error_of([&] { load_weights(*network, tensors); });
  expect_contains(message, "2 missing");
  expect_contains(message, "head.bias [3]");
  expect_contains(message, "columns.depth.bn1.running_var [4]");
  expect_contains(message, "1 unexpected");
  expect_contains(message, "head.extra [5]");
  expect_contains(message, "1 with a wrong shape");
  expect_contains(message,
                  "columns.seg.conv1.weight: module [4, 3, 3, 3], file 'columns.seg.conv1.weight' "
                  "[4, 3, 5, 5]");
  EXPECT_TRUE(equal_maps(snapshot(*network), before));
}

TEST(Weights, NonStrictIgnoresMissingAndUnexpectedButNotShapes) {
  Network network;
  randomize(*network, 6);
  const auto before = snapshot(*network);
  std::map<std::string, torch::Tensor> tensors = {{"head.weight", torch::full({3, 2}, 2.0)},
                                                  {"not.in.module", torch::zeros({1})}};
  load_weights(*network, tensors, LoadOptions().strict(false));
  EXPECT_TRUE(network->head->weight.eq(2).all().item<bool>());
  EXPECT_TRUE(network->head->bias.equal(before.at("head.bias")));

  tensors["head.bias"] = torch::zeros({4});
  tensors["head.weight"] = torch::full({3, 2}, 9.0);
  const std::string message =
      error_of([&] { load_weights(*network, tensors, LoadOptions().strict(false)); });
  expect_contains(message, "head.bias: module [3], file 'head.bias' [4]");
  EXPECT_TRUE(network->head->weight.eq(2).all().item<bool>());
}

TEST(Weights, SkipExcludesModuleEntriesToo) {
  // E.g. reusing a trained network's columns with a head for other classes.
  Network trained, fresh;
  randomize(*trained, 10);
  randomize(*fresh, 11);
  const auto head_before = snapshot(*fresh->head);
  auto tensors = snapshot(*trained);
  tensors.erase("head.weight");
  tensors.erase("head.bias");
  load_weights(*fresh, tensors, LoadOptions().skip({"head."}));
  EXPECT_TRUE(equal_maps(snapshot(*fresh->seg), snapshot(*trained->seg)));
  EXPECT_TRUE(equal_maps(snapshot(*fresh->head), head_before));
}

TEST(Weights, ConvertsDtypes) {
  Column column;
  auto tensors = snapshot(*column);
  for (auto& item : tensors) {
    if (item.second.is_floating_point())
      item.second = torch::full_like(item.second, 0.25, torch::kDouble);
  }
  load_weights(*column, tensors);
  EXPECT_EQ(column->conv1->weight.scalar_type(), torch::kFloat);
  EXPECT_TRUE(column->conv1->weight.eq(0.25f).all().item<bool>());
}

TEST(Weights, AddPrefixLoadsABackboneFileIntoOneColumn) {
  Column pretrained;
  randomize(*pretrained, 7);
  auto file = snapshot(*pretrained);
  file["fc.weight"] = torch::zeros({10, 2});  // a torchvision classifier the network lacks
  file["fc.bias"] = torch::zeros({10});

  Network network;
  randomize(*network, 8);
  const auto depth_before = snapshot(*network->depth);
  const auto head_before = snapshot(*network->head);

  const std::string message =
      error_of([&] { load_weights(*network, file, LoadOptions().add_prefix("columns.seg.")); });
  expect_contains(message, "add_prefix 'columns.seg.'");
  expect_contains(message, "fc.weight [10, 2]");

  load_weights(*network, file, LoadOptions().add_prefix("columns.seg.").skip({"fc."}));
  EXPECT_TRUE(equal_maps(snapshot(*network->seg), snapshot(*pretrained)));
  EXPECT_TRUE(equal_maps(snapshot(*network->depth), depth_before));
  EXPECT_TRUE(equal_maps(snapshot(*network->head), head_before));

  // A column entry the file lacks is reported under its full module name.
  file.erase("bn1.weight");
  expect_contains(error_of([&] {
                    load_weights(*network, file,
                                 LoadOptions().add_prefix("columns.depth.").skip({"fc."}));
                  }),
                  "columns.depth.bn1.weight [4]");
}

TEST(Weights, StripPrefixLoadsOneColumnOfANetworkFile) {
  TempDir dir;
  Network network;
  randomize(*network, 9);
  const std::string path = dir.file("network.safetensors");
  save_weights(path, *network);
  Column column;
  load_weights(*column, path, LoadOptions().strip_prefix("columns.depth."));
  EXPECT_TRUE(equal_maps(snapshot(*column), snapshot(*network->depth)));

  // Errors from a file name the file.
  expect_contains(error_of([&] { load_weights(*column, path); }), path);
}

}  // namespace
}  // namespace nddr
