#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>
#include <string>

#include "nddr/models/heads.h"

namespace nddr {
namespace {

namespace F = torch::nn::functional;

torch::Tensor eval_batch_norm(const torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x) {
  auto view = [](const torch::Tensor& t) { return t.view({1, -1, 1, 1}); };
  return (x - view(bn.running_mean)) / torch::sqrt(view(bn.running_var) + bn.options.eps()) *
             view(bn.weight) +
         view(bn.bias);
}

TEST(LargeFovHead, NamesAndParameterCount) {
  LargeFovHead head(LargeFovHeadOptions(512, 40));
  std::set<std::string> names;
  for (const auto& item : head->named_parameters()) names.insert(item.key());
  EXPECT_EQ(names, (std::set<std::string>{"fc6.weight", "bn6.weight", "bn6.bias", "fc7.weight",
                                          "bn7.weight", "bn7.bias", "fc8.weight", "fc8.bias"}));
  int64_t total = 0;
  for (const auto& p : head->parameters()) total += p.numel();
  // fc6 3x3 512->1024, fc7 1x1 1024->1024 (no bias, BN after each), fc8 1024->40 with bias.
  EXPECT_EQ(total, 512 * 1024 * 9 + 2 * 1024 + 1024 * 1024 + 2 * 1024 + 1024 * 40 + 40);
  EXPECT_EQ(head->fc6->options.dilation()->at(0), 12);
  EXPECT_EQ(head->bn6->options.eps(), 1e-3);
  EXPECT_EQ(head->bn7->options.momentum().value(), 0.05);
}

TEST(LargeFovHead, KeepsSpatialSize) {
  LargeFovHead head(LargeFovHeadOptions(8, 5).hidden(16));
  EXPECT_EQ(head->forward(torch::randn({2, 8, 7, 9})).sizes(), (std::vector<int64_t>{2, 5, 7, 9}));
}

TEST(LargeFovHead, EvalForwardMatchesExplicitComputation) {
  LargeFovHead head(LargeFovHeadOptions(3, 2).hidden(4).dilation(2));
  head->to(torch::kDouble);
  {
    torch::NoGradGuard no_grad;
    for (auto* bn : {head->bn6.get(), head->bn7.get()}) {
      bn->running_mean.uniform_(-0.5, 0.5);
      bn->running_var.uniform_(0.5, 2.0);
      bn->weight.uniform_(0.5, 1.5);
      bn->bias.uniform_(-0.5, 0.5);
    }
    head->fc8->bias.uniform_(-1, 1);
  }
  head->eval();  // dropout off
  auto x = torch::randn({1, 3, 5, 6}, torch::kDouble);
  auto y = F::conv2d(x, head->fc6->weight, F::Conv2dFuncOptions().padding(2).dilation(2));
  y = torch::relu(eval_batch_norm(*head->bn6, y));
  y = torch::relu(eval_batch_norm(*head->bn7, F::conv2d(y, head->fc7->weight)));
  y = F::conv2d(y, head->fc8->weight, F::Conv2dFuncOptions().bias(head->fc8->bias));
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(head->forward(x), y, 1e-10, 1e-12));
}

TEST(LargeFovHead, DropoutOnlyWhenTraining) {
  LargeFovHead head(LargeFovHeadOptions(4, 3).hidden(64).dropout(0.5));
  torch::NoGradGuard no_grad;
  auto x = torch::randn({2, 4, 6, 6});
  head->eval();
  EXPECT_TRUE(torch::equal(head->forward(x), head->forward(x)));
  head->train();
  EXPECT_FALSE(torch::allclose(head->forward(x), head->forward(x)));
}

TEST(LargeFovHead, LastLayerStartsSmall) {
  LargeFovHead head(LargeFovHeadOptions(8, 40).hidden(256));
  EXPECT_LT(head->fc8->weight.std().item<double>(), 0.02);
  EXPECT_EQ(head->fc8->bias.abs().max().item<double>(), 0.0);
}

TEST(ClassificationHead, PoolsThenLinear) {
  ClassificationHead head(ClassificationHeadOptions(6, 4));
  head->to(torch::kDouble);
  {
    torch::NoGradGuard no_grad;
    head->fc8->bias.uniform_(-1, 1);
  }
  auto x = torch::randn({3, 6, 5, 4}, torch::kDouble);
  auto expected = torch::matmul(x.mean({2, 3}), head->fc8->weight.t()) + head->fc8->bias;
  torch::NoGradGuard no_grad;
  auto actual = head->forward(x);
  EXPECT_EQ(actual.sizes(), (std::vector<int64_t>{3, 4}));
  EXPECT_TRUE(torch::allclose(actual, expected, 1e-10, 1e-12));
  std::set<std::string> names;
  for (const auto& item : head->named_parameters()) names.insert(item.key());
  EXPECT_EQ(names, (std::set<std::string>{"fc8.weight", "fc8.bias"}));
}

TEST(Heads, SaveLoadRoundTrip) {
  LargeFovHead saved(LargeFovHeadOptions(4, 3).hidden(8));
  LargeFovHead loaded(LargeFovHeadOptions(4, 3).hidden(8));
  std::stringstream buffer;
  torch::save(saved, buffer);
  torch::load(loaded, buffer);
  saved->eval();
  loaded->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::randn({1, 4, 5, 5});
  EXPECT_TRUE(torch::equal(saved->forward(x), loaded->forward(x)));
}

}  // namespace
}  // namespace nddr
