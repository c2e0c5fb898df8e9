#include <gtest/gtest.h>
#include <torch/csrc/jit/frontend/tracer.h>

#include <limits>

#include "nddr/layers/max_pool.h"

namespace nddr {
namespace {

namespace F = torch::nn::functional;

// Bit for bit max_pool2d's result: the maxima are exact. Sizes odd and even,
// strides 1 and 2, with the ties of ReLU zeros, -inf and NaN.
TEST(MaxPool, InferenceEqualsMaxPool2dExactly) {
  torch::manual_seed(0);
  for (const int64_t stride : {1, 2, 3}) {
    for (const auto& size : std::vector<std::pair<int64_t, int64_t>>{{7, 9}, {8, 8}, {1, 2}}) {
      auto x = torch::relu(torch::randn({2, 5, size.first, size.second}));
      x.view({-1})[0] = -std::numeric_limits<float>::infinity();
      x.view({-1})[3] = std::numeric_limits<float>::quiet_NaN();
      const auto options = torch::nn::MaxPool2dOptions(3).stride(stride).padding(1);
      torch::NoGradGuard no_grad;
      const auto ours = max_pool2d(x, options), theirs = F::max_pool2d(x, options);
      ASSERT_EQ(ours.sizes(), theirs.sizes()) << "stride " << stride;
      EXPECT_TRUE(torch::equal(ours.isnan(), theirs.isnan()));
      EXPECT_TRUE(torch::equal(ours.nan_to_num(0, 1, -1), theirs.nan_to_num(0, 1, -1)))
          << "stride " << stride << ", " << size.first << "x" << size.second;
    }
  }
  // Another kernel, padding and dtype, and channels_last.
  const auto x = torch::randn({1, 4, 10, 11}, torch::kDouble);
  const auto options = torch::nn::MaxPool2dOptions({2, 3}).stride({2, 1}).padding({1, 0});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(max_pool2d(x, options), F::max_pool2d(x, options)));
  const auto nhwc = x.contiguous(torch::MemoryFormat::ChannelsLast);
  EXPECT_TRUE(torch::equal(max_pool2d(nhwc, options), F::max_pool2d(x, options)));
}

// Training keeps max_pool2d and its backward; tracing records aten::max_pool2d.
TEST(MaxPool, GradientsAndTracesKeepMaxPool2d) {
  const auto options = torch::nn::MaxPool2dOptions(3).stride(2).padding(1);
  const auto x = torch::randn({1, 3, 6, 6}, torch::requires_grad());
  max_pool2d(x, options).sum().backward();
  const auto ours = x.grad().clone();
  x.grad().zero_();
  F::max_pool2d(x, options).sum().backward();
  EXPECT_TRUE(torch::equal(ours, x.grad()));

  auto [state, outputs] = torch::jit::tracer::trace(
      {torch::randn({1, 3, 6, 6})},
      [&](const torch::jit::Stack& inputs) -> torch::jit::Stack {
        torch::NoGradGuard no_grad;
        return {max_pool2d(inputs[0].toTensor(), options)};
      },
      [](const torch::autograd::Variable&) { return std::string(); }, /*strict=*/false);
  std::ostringstream graph;
  graph << *state->graph;
  EXPECT_NE(graph.str().find("max_pool2d"), std::string::npos) << graph.str();
  EXPECT_EQ(graph.str().find("maximum"), std::string::npos) << graph.str();
}

}  // namespace
}  // namespace nddr
