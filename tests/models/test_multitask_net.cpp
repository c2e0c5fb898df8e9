#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>
#include <sstream>
#include <string>

#include "nddr/models/heads.h"
#include "nddr/models/multitask_net.h"
#include "nddr/models/shortcut.h"
#include "nddr/util/error.h"
#include "network_helpers.h"

namespace nddr {
namespace {

using testing::mixed_tasks;
using testing::network;
using testing::paper_tasks;
using testing::total;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

int64_t column_parameters(const std::string& backbone, double width, int64_t first, int64_t end) {
  BackboneOptions options;
  options.name = backbone;
  options.width = width;
  int64_t count = 0;
  for (const auto& p : make_backbone(options)->make_column(first, end)->parameters()) {
    count += p.numel();
  }
  return count;
}

std::string expect_error(const NetworkOptions& options) {
  try {
    MultiTaskNet net(options);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no Error for method " << options.fusion.method;
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Copies parameters and buffers of `from` into the same-named ones of `to`.
void copy_by_name(const torch::nn::Module& from, torch::nn::Module& to) {
  torch::NoGradGuard no_grad;
  auto params = from.named_parameters();
  auto buffers = from.named_buffers();
  for (auto& item : to.named_parameters()) item.value().copy_(params[item.key()]);
  for (auto& item : to.named_buffers()) item.value().copy_(buffers[item.key()]);
}

void expect_output_shapes(MultiTaskNet& net, const torch::Tensor& images, int64_t stride,
                          const std::string& what) {
  auto outputs = net->forward(images);
  ASSERT_EQ(outputs.size(), net->tasks().size()) << what;
  for (const auto& task : net->tasks()) {
    const auto& output = outputs.at(task.name);
    if (is_dense(task.kind)) {
      EXPECT_EQ(output.sizes(), (std::vector<int64_t>{images.size(0), task.channels,
                                                      ceil_div(images.size(2), stride),
                                                      ceil_div(images.size(3), stride)}))
          << what << " task " << task.name;
    } else {
      EXPECT_EQ(output.sizes(), (std::vector<int64_t>{images.size(0), task.channels}))
          << what << " task " << task.name;
    }
  }
}

TEST(MultiTaskNet, EveryMethodAndBackboneGivesStridedOutputsAndGradients) {
  struct Case {
    std::string backbone;
    double width;
    int64_t output_stride;
  };
  const std::vector<Case> cases = {{"vgg16_largefov", 1.0 / 16, 8},
                                   {"vgg16_largefov", 1.0 / 16, 4},
                                   {"resnet18", 0.125, 8},
                                   {"resnet18", 0.125, 16}};
  auto images = torch::randn({2, 3, 33, 35});
  for (const auto& c : cases) {
    for (const auto& method : fusion_methods()) {
      for (size_t k : {2, 3}) {
        auto options = network(c.backbone, c.width, method, mixed_tasks(k));
        options.backbone.output_stride = c.output_stride;
        MultiTaskNet net(options);
        const std::string what = c.backbone + " os " + std::to_string(c.output_stride) + " " +
                                 method + " K=" + std::to_string(k);
        expect_output_shapes(net, images, c.output_stride, what);
        torch::Tensor loss = torch::zeros({});
        for (const auto& output : net->forward(images)) loss = loss + output.second.mean();
        loss.backward();
        for (const auto& p : net->named_parameters()) {
          EXPECT_TRUE(p.value().grad().defined()) << what << " " << p.key();
        }
      }
    }
  }
}

TEST(MultiTaskNet, ResNet50ShapesAtBothOutputStrides) {
  torch::NoGradGuard no_grad;
  auto images = torch::randn({1, 3, 33, 33});
  for (int64_t os : {8, 16}) {
    for (const char* method : {"split", "nddr", "nddr_shortcut", "sluice"}) {
      auto options = network("resnet50", 1.0 / 16, method, mixed_tasks(3));
      options.backbone.output_stride = os;
      MultiTaskNet net(options);
      net->eval();
      expect_output_shapes(net, images, os, std::string("resnet50 ") + method);
    }
  }
}

TEST(MultiTaskNet, PaperParameterCounts) {
  MultiTaskNet nddr(network("vgg16_largefov", 1.0, "nddr", paper_tasks(), 1024));
  auto counts = nddr->parameter_counts();
  EXPECT_EQ(total(counts), 43471531);
  EXPECT_EQ(counts["fusion"], 2447104);
  int64_t fusion_weights = 0;
  for (const auto& p : nddr->named_parameters()) {
    if (nddr->role_of(p.key()) == ParamRole::kFusionWeight) fusion_weights += p.value().numel();
  }
  EXPECT_EQ(fusion_weights, 2441216);
  EXPECT_EQ(counts["backbone"], 2 * column_parameters("vgg16_largefov", 1.0, 0, 5));

  MultiTaskNet shortcut(network("vgg16_largefov", 1.0, "nddr_shortcut", paper_tasks(), 1024));
  EXPECT_EQ(total(shortcut->parameter_counts()), 44980907);
  EXPECT_EQ(shortcut->named_parameters()["shortcut.seg.conv.weight"].sizes(),
            (std::vector<int64_t>{512, 1472, 1, 1}));
}

TEST(MultiTaskNet, BaselineCountsAreConsistent) {
  const double width = 0.25;  // VGG stages 16, 32, 64, 128, 128 (sum 368)
  auto counts = [&](const std::string& method, int64_t split_stage = 0) {
    auto options = network("vgg16_largefov", width, method, paper_tasks(), 64);
    options.fusion.split_stage = split_stage;
    return MultiTaskNet(options)->parameter_counts();
  };
  const int64_t column = column_parameters("vgg16_largefov", width, 0, 5);
  auto single = counts("single");
  EXPECT_EQ(single["backbone"], 2 * column);
  EXPECT_EQ(single["fusion"], 0);
  auto nddr = counts("nddr");
  EXPECT_EQ(nddr["backbone"], single["backbone"]);
  EXPECT_EQ(nddr["heads"], single["heads"]);
  // Per stage and task: 1x1 conv 2C -> C and BN scale and shift.
  const int64_t squares = 16 * 16 + 32 * 32 + 64 * 64 + 2 * 128 * 128;
  EXPECT_EQ(nddr["fusion"], 2 * 2 * squares + 2 * 2 * 368);
  auto split_all = counts("split", 5);  // "split fc": every conv stage shared
  EXPECT_EQ(split_all["backbone"], column);
  EXPECT_EQ(split_all["heads"], single["heads"]);
  EXPECT_EQ(split_all["fusion"], 0);
  auto split2 = counts("split", 2);
  EXPECT_EQ(split2["backbone"], column_parameters("vgg16_largefov", width, 0, 2) +
                                    2 * column_parameters("vgg16_largefov", width, 2, 5));
  EXPECT_EQ(counts("cross_stitch")["fusion"], 2 * 2 * 368);
  EXPECT_EQ(counts("sluice")["fusion"], 2 * 2 * 368 + 2 * (5 + 368 * 128));
  auto options = network("vgg16_largefov", width, "cross_stitch", paper_tasks(), 64);
  options.fusion.per_channel = false;
  EXPECT_EQ(MultiTaskNet(options)->parameter_counts()["fusion"], 5 * 2 * 2);
}

TEST(MultiTaskNet, ParameterNames) {
  auto params = MultiTaskNet(network("vgg16_largefov", 0.125, "nddr_shortcut", paper_tasks()))
                    ->named_parameters();
  for (const char* name :
       {"columns.seg.features.0.weight", "columns.normals.features.41.bias",
        "fusion.0.conv.0.weight", "fusion.4.bn.1.bias", "shortcut.seg.conv.weight",
        "shortcut.normals.bn.weight", "heads.seg.fc6.weight", "heads.normals.fc8.bias"}) {
    EXPECT_TRUE(params.contains(name)) << name;
  }
  auto split = MultiTaskNet(network("resnet18", 0.125, "split", paper_tasks()))->named_parameters();
  EXPECT_TRUE(split.contains("shared.conv1.weight"));
  EXPECT_TRUE(split.contains("shared.layer1.0.conv1.weight"));
  EXPECT_TRUE(split.contains("columns.seg.layer2.0.downsample.0.weight"));
  EXPECT_FALSE(split.contains("columns.seg.layer1.0.conv1.weight"));
  auto options = network("resnet18", 0.125, "split", paper_tasks());
  options.fusion.split_stage = 5;
  for (const auto& p : MultiTaskNet(options)->named_parameters()) {
    EXPECT_NE(p.key().rfind("columns.", 0), 0u) << p.key();
  }
}

TEST(MultiTaskNet, RolesByName) {
  MultiTaskNet net(network("vgg16_largefov", 0.125, "nddr_shortcut", mixed_tasks(2)));
  EXPECT_EQ(net->role_of("columns.seg.features.0.weight"), ParamRole::kWeight);
  EXPECT_EQ(net->role_of("columns.seg.features.1.weight"), ParamRole::kNoDecay);
  EXPECT_EQ(net->role_of("fusion.0.conv.1.weight"), ParamRole::kFusionWeight);
  EXPECT_EQ(net->role_of("fusion.3.bn.0.weight"), ParamRole::kFusionNoDecay);
  EXPECT_EQ(net->role_of("fusion.3.bn.0.bias"), ParamRole::kFusionNoDecay);
  EXPECT_EQ(net->role_of("shortcut.cls.conv.weight"), ParamRole::kFusionWeight);
  EXPECT_EQ(net->role_of("shortcut.cls.bn.weight"), ParamRole::kFusionNoDecay);
  EXPECT_EQ(net->role_of("heads.seg.fc6.weight"), ParamRole::kWeight);
  EXPECT_EQ(net->role_of("heads.seg.bn7.bias"), ParamRole::kNoDecay);
  EXPECT_EQ(net->role_of("heads.seg.fc8.weight"), ParamRole::kLastWeight);
  EXPECT_EQ(net->role_of("heads.seg.fc8.bias"), ParamRole::kLastBias);
  EXPECT_EQ(net->role_of("heads.cls.fc8.weight"), ParamRole::kLastWeight);
  EXPECT_EQ(net->role_of("heads.cls.fc8.bias"), ParamRole::kLastBias);
  for (const auto& p : net->named_parameters()) EXPECT_NO_THROW(net->role_of(p.key()));
  try {
    net->role_of("heads.seg.fc8.weigth");
    FAIL() << "no Error for an unknown parameter";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "did you mean 'heads.seg.fc8.weight'")) << e.what();
  }
  MultiTaskNet sluice(network("resnet18", 0.125, "sluice", mixed_tasks(2)));
  EXPECT_EQ(sluice->role_of("fusion.1.weight"), ParamRole::kFusionWeight);
  EXPECT_EQ(sluice->role_of("shortcut.seg.mixing.beta"), ParamRole::kFusionWeight);
  EXPECT_EQ(sluice->role_of("shortcut.seg.conv.weight"), ParamRole::kFusionWeight);
  EXPECT_EQ(sluice->role_of("columns.cls.layer1.0.bn2.bias"), ParamRole::kNoDecay);
  EXPECT_EQ(to_string(ParamRole::kLastBias), "last_bias");
}

// With identity fusion (own task 1, others 0; NDDR without BN and ReLU) every
// fusion method must compute exactly the single-task networks.
TEST(MultiTaskNet, IdentityFusionEqualsSingleTaskNetworks) {
  auto images = torch::randn({2, 3, 21, 19});
  for (const char* method : {"nddr", "cross_stitch", "sluice"}) {
    auto options = network("vgg16_largefov", 1.0 / 16, method, mixed_tasks(3));
    options.fusion.alpha = 1.0;
    options.fusion.beta = 0.0;
    options.fusion.batch_norm = false;
    options.fusion.relu = false;
    MultiTaskNet fused(options);
    MultiTaskNet single(network("vgg16_largefov", 1.0 / 16, "single", mixed_tasks(3)));
    copy_by_name(*fused, *single);
    fused->eval();
    single->eval();
    torch::NoGradGuard no_grad;
    auto a = fused->forward(images);
    auto b = single->forward(images);
    for (const auto& task : fused->tasks()) {
      EXPECT_TRUE(torch::allclose(a.at(task.name), b.at(task.name), 1e-5, 1e-6))
          << method << " " << task.name;
    }
  }
}

TEST(MultiTaskNet, DefaultNddrMixesTasks) {
  auto images = torch::randn({2, 3, 21, 19});
  MultiTaskNet fused(network("vgg16_largefov", 1.0 / 16, "nddr", mixed_tasks(2)));
  MultiTaskNet single(network("vgg16_largefov", 1.0 / 16, "single", mixed_tasks(2)));
  copy_by_name(*fused, *single);
  fused->eval();
  single->eval();
  torch::NoGradGuard no_grad;
  EXPECT_FALSE(
      torch::allclose(fused->forward(images).at("seg"), single->forward(images).at("seg")));
}

// The shortcut sees every fused stage: with identity NDDR layers, those are the
// single columns' stage outputs.
TEST(MultiTaskNet, ShortcutMergesEveryFusedStage) {
  auto options = network("resnet18", 0.125, "nddr_shortcut", mixed_tasks(2));
  options.fusion.alpha = 1.0;
  options.fusion.beta = 0.0;
  options.fusion.batch_norm = false;
  options.fusion.relu = false;
  options.fusion.positions = {4, 1, 2};
  MultiTaskNet net(options);
  net->eval();
  auto modules = net->named_modules();
  auto images = torch::randn({1, 3, 33, 33});
  torch::NoGradGuard no_grad;
  auto outputs = net->forward(images);
  for (const auto& task : net->tasks()) {
    auto column = std::dynamic_pointer_cast<ColumnImpl>(modules["columns." + task.name]);
    ASSERT_NE(column, nullptr);
    std::vector<torch::Tensor> stages;
    auto x = images;
    for (int64_t s = 0; s < 5; ++s) {
      x = column->forward_stage(s, x);
      if (s == 1 || s == 2 || s == 4) stages.push_back(x);
    }
    auto merged = modules["shortcut." + task.name]->as<NddrShortcutImpl>()->forward(stages);
    auto head = modules["heads." + task.name];
    auto expected = is_dense(task.kind) ? head->as<LargeFovHeadImpl>()->forward(merged)
                                        : head->as<ClassificationHeadImpl>()->forward(merged);
    EXPECT_TRUE(torch::allclose(outputs.at(task.name), expected, 1e-5, 1e-6)) << task.name;
  }
}

TEST(MultiTaskNet, SplitFcSharesEveryStage) {
  auto options = network("vgg16_largefov", 1.0 / 16, "split", mixed_tasks(3));
  options.fusion.split_stage = 5;
  MultiTaskNet net(options);
  net->eval();
  auto modules = net->named_modules();
  auto images = torch::randn({2, 3, 17, 17});
  torch::NoGradGuard no_grad;
  auto outputs = net->forward(images);
  auto features = std::dynamic_pointer_cast<ColumnImpl>(modules["shared"])->forward(images);
  EXPECT_TRUE(torch::allclose(outputs.at("seg"),
                              modules["heads.seg"]->as<LargeFovHeadImpl>()->forward(features)));
  EXPECT_TRUE(torch::allclose(
      outputs.at("cls"), modules["heads.cls"]->as<ClassificationHeadImpl>()->forward(features)));
}

TEST(MultiTaskNet, SaveLoadRoundTrip) {
  for (const char* method : {"nddr_shortcut", "sluice", "split"}) {
    auto options = network("resnet18", 0.125, method, mixed_tasks(3));
    MultiTaskNet saved(options);
    MultiTaskNet loaded(options);
    std::stringstream buffer;
    torch::save(saved, buffer);
    torch::load(loaded, buffer);
    saved->eval();
    loaded->eval();
    torch::NoGradGuard no_grad;
    auto images = torch::randn({1, 3, 25, 25});
    auto a = saved->forward(images);
    auto b = loaded->forward(images);
    for (const auto& task : saved->tasks()) {
      EXPECT_TRUE(torch::equal(a.at(task.name), b.at(task.name))) << method << " " << task.name;
    }
  }
}

TEST(MultiTaskNet, ErrorsNameTheBadValue) {
  auto base = network("vgg16_largefov", 0.125, "nddr", paper_tasks());
  auto one_task = base;
  one_task.tasks.resize(1);
  EXPECT_TRUE(contains(expect_error(one_task), "at least 2 tasks"));
  one_task.fusion.method = "single";
  EXPECT_NO_THROW(MultiTaskNet{one_task});
  auto unknown = base;
  unknown.fusion.method = "ndr";
  EXPECT_TRUE(contains(expect_error(unknown), "did you mean 'nddr'"));
  auto bad_position = base;
  bad_position.fusion.positions = {1, 5};
  EXPECT_TRUE(contains(expect_error(bad_position), "5 is not a stage"));
  auto repeated = base;
  repeated.fusion.positions = {2, 2};
  EXPECT_TRUE(contains(expect_error(repeated), "stage 2 is listed twice"));
  auto shortcut = base;
  shortcut.fusion.method = "nddr_shortcut";
  shortcut.fusion.positions = {0, 3};
  EXPECT_TRUE(contains(expect_error(shortcut), "last stage 4"));
  auto split = base;
  split.fusion.method = "split";
  for (int64_t stage : {0, 6}) {
    split.fusion.split_stage = stage;
    EXPECT_TRUE(contains(expect_error(split), "got " + std::to_string(stage)));
  }
  auto single = base;
  single.fusion.method = "single";
  single.fusion.positions = {1};
  EXPECT_TRUE(contains(expect_error(single), "positions"));
  auto tasks = base;
  tasks.tasks[1].name = "seg";
  EXPECT_TRUE(contains(expect_error(tasks), "used twice"));
  auto backbone = base;
  backbone.backbone.name = "vgg";
  EXPECT_TRUE(contains(expect_error(backbone), "unknown backbone 'vgg'"));
}

TEST(UpsampleTo, BilinearHalfPixel) {
  auto logits = torch::tensor({0.0, 1.0}).view({1, 1, 1, 2});
  auto up = upsample_to(logits, 1, 4);
  EXPECT_TRUE(torch::allclose(up.view({4}), torch::tensor({0.0, 0.25, 0.75, 1.0}).to(up.dtype())));
  EXPECT_EQ(upsample_to(torch::zeros({2, 3, 5, 5}), 33, 35).sizes(),
            (std::vector<int64_t>{2, 3, 33, 35}));
}

}  // namespace
}  // namespace nddr
