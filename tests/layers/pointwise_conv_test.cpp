#include <gtest/gtest.h>
#include <torch/csrc/jit/frontend/tracer.h>

#include "nddr/compat.h"
#include "nddr/layers/pointwise_conv.h"

namespace nddr {
namespace {

// The explicit sum out[n,o,h,w] = b[o] + sum_i W[o,i] x[n,i,h,w], in double.
torch::Tensor reference(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  const auto matrix = w.to(torch::kDouble).flatten(1);  // [O, I]
  auto out = torch::einsum("oi,nihw->nohw", {matrix, x.to(torch::kDouble)});
  if (b.defined()) out = out + b.to(torch::kDouble).view({1, -1, 1, 1});
  return out;
}

TEST(PointwiseConv, EqualsTheExplicitSumWithAndWithoutBias) {
  torch::manual_seed(0);
  const auto x = torch::randn({3, 24, 7, 5});
  const auto w = torch::randn({10, 24, 1, 1});
  const auto b = torch::randn({10});
  for (const auto& bias : {torch::Tensor(), b}) {
    const auto out = pointwise_conv2d(x, w, bias);
    EXPECT_EQ(out.sizes(), torch::IntArrayRef({3, 10, 7, 5}));
    EXPECT_EQ(out.scalar_type(), torch::kFloat);
    EXPECT_TRUE(torch::allclose(out.to(torch::kDouble), reference(x, w, bias), 1e-5, 1e-5));
  }
  // channels_last input, as the bf16 CPU path feeds it.
  const auto nhwc = x.contiguous(torch::MemoryFormat::ChannelsLast);
  EXPECT_TRUE(torch::allclose(pointwise_conv2d(nhwc, w, b).to(torch::kDouble), reference(x, w, b),
                              1e-5, 1e-5));
}

TEST(PointwiseConv, GradientsEqualConv2d) {
  torch::manual_seed(1);
  const auto x = torch::randn({2, 16, 6, 6}, torch::requires_grad());
  const auto w = torch::randn({8, 16, 1, 1}, torch::requires_grad());
  const auto b = torch::randn({8}, torch::requires_grad());
  const auto seed = torch::randn({2, 8, 6, 6});
  auto grads = [&](bool pointwise) {
    const auto out = pointwise ? pointwise_conv2d(x, w, b) : torch::conv2d(x, w, b);
    return torch::autograd::grad({(out * seed).sum()}, {x, w, b});
  };
  const auto ours = grads(true), theirs = grads(false);
  for (size_t i = 0; i < ours.size(); ++i) {
    EXPECT_TRUE(torch::allclose(ours[i], theirs[i], 1e-5, 1e-5)) << "gradient " << i;
  }
}

// Exported graphs must keep aten::conv2d (mkldnn_convolution is CPU-only and
// unknown to ONNX); autocast keeps conv2d's bf16 policy.
TEST(PointwiseConv, TracingAndAutocastKeepPlainConv2d) {
  const auto w = torch::randn({4, 6, 1, 1});
  auto [state, outputs] = torch::jit::tracer::trace(
      {torch::randn({1, 6, 3, 3})},
      [&](const torch::jit::Stack& inputs) -> torch::jit::Stack {
        return {pointwise_conv2d(inputs[0].toTensor(), w)};
      },
      [](const torch::autograd::Variable&) { return std::string(); }, /*strict=*/false);
  std::ostringstream graph;
  graph << *state->graph;
  EXPECT_EQ(graph.str().find("mkldnn_convolution"), std::string::npos) << graph.str();
  EXPECT_NE(graph.str().find("conv"), std::string::npos) << graph.str();

  const compat::AutocastGuard autocast(c10::DeviceType::CPU, at::kBFloat16);
  EXPECT_EQ(pointwise_conv2d(torch::randn({1, 6, 3, 3}), w).scalar_type(), torch::kBFloat16);
}

}  // namespace
}  // namespace nddr
