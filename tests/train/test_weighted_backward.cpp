// Which parameters count as shared for each fusion method, and what a
// gradient method writes into them, on real (tiny) networks.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "nddr/models/multitask_net.h"
#include "nddr/util/error.h"
#include "nddr/weighting/backward.h"
#include "train/train_helpers.h"

namespace nddr {
namespace {

NetworkOptions tiny(const std::string& fusion) {
  NetworkOptions options = testing::tiny_network(fusion);
  options.backbone.output_stride = 4;
  options.tasks = {{"seg", "segmentation", 4, 1.0}, {"normals", "normals", 3, 1.0}};
  options.head_hidden = 8;
  return options;
}

// Per-task losses of a forward pass: any function of each task's output will do.
std::vector<torch::Tensor> losses_of(MultiTaskNetImpl& net) {
  torch::manual_seed(4);
  const auto outputs = net.forward(torch::randn({2, 3, 32, 32}));
  return {outputs.at("seg").pow(2).mean(), outputs.at("normals").pow(2).mean()};
}

struct Split {
  std::vector<std::string> names;
  std::vector<torch::Tensor> parameters;
  std::set<std::string> shared;
};

Split shared_of(MultiTaskNetImpl& net) {
  Split split;
  for (const auto& item : net.named_parameters()) {
    split.names.push_back(item.key());
    split.parameters.push_back(item.value());
  }
  const auto mask = shared_mask(per_task_gradients(losses_of(net), split.parameters));
  for (size_t i = 0; i < mask.size(); ++i) {
    if (mask[i]) split.shared.insert(split.names[i]);
  }
  return split;
}

std::set<std::string> with_prefixes(const std::vector<std::string>& names,
                                    const std::vector<std::string>& prefixes) {
  std::set<std::string> selected;
  for (const auto& name : names) {
    for (const auto& prefix : prefixes) {
      if (name.rfind(prefix, 0) == 0) selected.insert(name);
    }
  }
  return selected;
}

TEST(SharedParameters, SingleSharesNothing) {
  MultiTaskNet net(tiny("single"));
  EXPECT_TRUE(shared_of(*net).shared.empty());
  // So a gradient method is an Error there, not a silent no-op.
  auto mgda = make_weighting({"mgda", {}}, 2);
  std::vector<torch::Tensor> parameters = net->parameters();
  EXPECT_THROW(weighted_backward(*mgda, losses_of(*net), parameters, {}), Error);
}

TEST(SharedParameters, SplitSharesItsTrunk) {
  auto options = tiny("split");
  options.fusion.split_stage = 2;
  MultiTaskNet net(options);
  const Split split = shared_of(*net);
  EXPECT_FALSE(split.shared.empty());
  EXPECT_EQ(split.shared, with_prefixes(split.names, {"shared."}));
}

// The parameters of fusion layer `index` that feed task k's output only:
// an NDDR layer's per-task conv and BatchNorm.
std::set<std::string> per_task_parts(const std::vector<std::string>& names, int index) {
  const std::string layer = "fusion." + std::to_string(index) + ".";
  return with_prefixes(names, {layer + "conv.", layer + "bn."});
}

TEST(SharedParameters, FusionMethodsShareColumnsAndFusionLayers) {
  for (const std::string method : {"nddr", "cross_stitch", "nddr_shortcut", "sluice"}) {
    SCOPED_TRACE(method);
    MultiTaskNet net(tiny(method));
    const Split split = shared_of(*net);
    // Every column receives every task's gradient through the fusion layers,
    // up to the last one, whose per-task parts (NDDR) feed one task each;
    // heads and the per-task shortcut/sluice units see one task only.
    auto expected = with_prefixes(split.names, {"columns.", "fusion."});
    for (const auto& name : per_task_parts(split.names, 4)) expected.erase(name);
    EXPECT_EQ(split.shared, expected);
    if (method == "nddr") {
      EXPECT_EQ(per_task_parts(split.names, 4).size(), 6u);  // 2 x (conv, BN)
    }
  }
}

TEST(SharedParameters, StagesAfterTheLastFusionLayerAreTaskSpecific) {
  auto options = tiny("nddr");
  options.fusion.positions = {1};
  MultiTaskNet net(options);
  const Split split = shared_of(*net);
  // The stages up to the fusion layer (0 and 1) of each column, and the layer itself.
  std::set<std::string> expected = with_prefixes(split.names, {"fusion."});
  for (const auto& name : per_task_parts(split.names, 0)) expected.erase(name);
  const auto early = make_backbone(options.backbone)->make_column(0, 2);
  for (const auto& task : options.tasks) {
    for (const auto& item : early->named_parameters()) {
      expected.insert("columns." + task.name + "." + item.key());
    }
  }
  EXPECT_EQ(split.shared, expected);
  EXPECT_LT(split.shared.size(), with_prefixes(split.names, {"columns.", "fusion."}).size());
}

TEST(WeightedBackward, MgdaOnANetworkGivesEqualProgressOnBothTasks) {
  MultiTaskNet net(tiny("nddr"));
  const Split split = shared_of(*net);
  const auto losses = losses_of(*net);
  const auto grads = per_task_gradients(losses, split.parameters);
  auto mgda = make_weighting({"mgda", {}}, 2);
  weighted_backward(*mgda, losses, split.parameters, {});
  double progress[2] = {0, 0};
  for (size_t i = 0; i < split.parameters.size(); ++i) {
    const torch::Tensor written = split.parameters[i].grad();
    if (split.shared.count(split.names[i])) {
      for (int t = 0; t < 2; ++t) progress[t] += (written * grads[t][i]).sum().item<double>();
    } else {
      // Task-specific: its own task's gradient, untouched (the other task's
      // is undefined or exactly zero).
      torch::Tensor own = torch::zeros_like(written);
      for (int t = 0; t < 2; ++t) {
        if (grads[t][i].defined()) own += grads[t][i];
      }
      EXPECT_TRUE(torch::allclose(written, own)) << split.names[i];
    }
  }
  // The min-norm point d of an interior MGDA solution has d . g1 = d . g2 = |d|^2.
  const auto& a = mgda->last_weights();
  ASSERT_GT(a[0], 1e-3);
  ASSERT_GT(a[1], 1e-3);
  EXPECT_NEAR(progress[0], progress[1], 1e-4 * std::abs(progress[0]));
}

TEST(RepresentationMode, MgdaUbOnSplitsTrunkOutput) {
  auto options = tiny("split");
  options.fusion.split_stage = 2;
  MultiTaskNet net(options);
  torch::manual_seed(4);
  torch::Tensor features;
  const auto outputs = net->forward(torch::randn({2, 3, 32, 32}), &features);
  ASSERT_TRUE(features.defined());
  const std::vector<torch::Tensor> losses = {outputs.at("seg").pow(2).mean(),
                                             outputs.at("normals").pow(2).mean()};
  // The expected update: the gradient of a1 L1 + a2 L2 with MGDA's weights
  // from the losses' gradients with respect to the trunk output.
  std::vector<torch::Tensor> rows;
  for (const auto& loss : losses) {
    rows.push_back(torch::autograd::grad({loss}, {features}, {}, true)[0].reshape({-1}));
  }
  const auto g = torch::stack(rows).to(torch::kDouble);
  const double m11 = g[0].dot(g[0]).item<double>(), m22 = g[1].dot(g[1]).item<double>();
  const double m12 = g[0].dot(g[1]).item<double>();
  const double a = std::clamp((m22 - m12) / (m11 + m22 - 2 * m12), 0.0, 1.0);
  std::vector<torch::Tensor> parameters = net->parameters();
  const auto expected =
      torch::autograd::grad({a * losses[0] + (1 - a) * losses[1]}, parameters, {}, true);
  auto mgda = make_weighting({"mgda", {{"mode", "representation"}}}, 2);
  representation_backward(*mgda, losses, features, {});
  EXPECT_NEAR(mgda->last_weights()[0], a, 1e-6);  // the Gram is float
  for (size_t i = 0; i < parameters.size(); ++i) {
    EXPECT_TRUE(torch::allclose(parameters[i].grad(), expected[i], 1e-5, 1e-7)) << i;
  }
  // Methods without a trunk give no representation.
  torch::Tensor none;
  MultiTaskNet(tiny("nddr"))->forward(torch::randn({1, 3, 32, 32}), &none);
  EXPECT_FALSE(none.defined());
}

}  // namespace
}  // namespace nddr
