#include <gtest/gtest.h>
#include <torch/torch.h>

#include <stdexcept>

#include "nddr/models/flops.h"
#include "network_helpers.h"

namespace nddr {
namespace {

TEST(Flops, SingleConvolution) {
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(3, 8, 3).stride(2).padding(1));
  auto x = torch::randn({2, 3, 9, 9});
  auto count = count_forward_flops([&] { conv(x); });
  // Output [2, 8, 5, 5]; each output element sums 3 * 3 * 3 products.
  EXPECT_EQ(count.macs, 2 * 8 * 5 * 5 * 27);
  ASSERT_EQ(count.macs_by_op.size(), 1u);
  EXPECT_EQ(count.macs_by_op.begin()->first, "aten::conv2d");
}

TEST(Flops, GroupedDilatedAndTransposedConvolutions) {
  torch::nn::Conv2d grouped(torch::nn::Conv2dOptions(4, 6, 3).groups(2).dilation(2).padding(2));
  EXPECT_EQ(count_forward_flops([&] {
              grouped(torch::randn({1, 4, 7, 5}));
            }).macs,
            6 * 7 * 5 * (2 * 9));
  torch::nn::ConvTranspose2d transposed(torch::nn::ConvTranspose2dOptions(4, 6, 3).stride(2));
  // Every input element is spread over 6 channels x 3 x 3 outputs.
  EXPECT_EQ(count_forward_flops([&] {
              transposed(torch::randn({1, 4, 5, 5}));
            }).macs,
            4 * 5 * 5 * 6 * 9);
}

TEST(Flops, LinearAndMatrixProducts) {
  torch::nn::Linear linear(5, 7);
  EXPECT_EQ(count_forward_flops([&] { linear(torch::randn({4, 5})); }).macs, 4 * 7 * 5);
  EXPECT_EQ(count_forward_flops([&] { linear(torch::randn({2, 3, 5})); }).macs, 2 * 3 * 7 * 5);
  auto a = torch::randn({2, 3, 4});
  auto b = torch::randn({4, 5});
  EXPECT_EQ(count_forward_flops([&] { torch::matmul(a, b); }).macs, 2 * 3 * 5 * 4);
  EXPECT_EQ(count_forward_flops([&] { torch::mm(a[0], b); }).macs, 3 * 5 * 4);
  EXPECT_EQ(count_forward_flops([&] {
              torch::bmm(a, torch::randn({2, 4, 6}));
            }).macs,
            2 * 3 * 6 * 4);
  EXPECT_EQ(count_forward_flops([&] {
              torch::addmm(torch::zeros({3, 5}), a[0], b);
            }).macs,
            3 * 5 * 4);
}

TEST(Flops, SmallNetworkSumsItsLayers) {
  torch::nn::Sequential net(torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3).padding(1)),
                            torch::nn::ReLU(), torch::nn::MaxPool2d(2), torch::nn::Flatten(),
                            torch::nn::Linear(4 * 4 * 4, 10));
  auto x = torch::randn({3, 3, 8, 8});
  auto count = count_forward_flops([&] { net->forward(x); });
  const int64_t conv = 3 * 4 * 8 * 8 * 27;
  const int64_t linear = 3 * 10 * 64;
  EXPECT_EQ(count.macs, conv + linear);
  EXPECT_EQ(count.macs_by_op.at("aten::conv2d"), conv);
  // LibTorch's Linear runs aten::addmm for 2-D inputs (1.13) or aten::linear: either counts once.
  EXPECT_EQ(count.macs_by_op.size(), 2u);
  // The callback is gone after a count: counting again gives the same, not double.
  EXPECT_EQ(count_forward_flops([&] { net->forward(x); }).macs, conv + linear);
  EXPECT_EQ(count_forward_flops([] {}).macs, 0);
}

TEST(Flops, ThrowingForwardLeavesNoCallback) {
  torch::nn::Linear linear(5, 7);
  EXPECT_THROW(count_forward_flops([&] {
                 linear(torch::randn({1, 5}));
                 throw std::runtime_error("stop");
               }),
               std::runtime_error);
  EXPECT_EQ(count_forward_flops([&] { linear(torch::randn({1, 5})); }).macs, 35);
}

TEST(Flops, MultiTaskNetworkScalesWithTasks) {
  using testing::mixed_tasks;
  using testing::network;
  auto images = torch::randn({1, 3, 33, 33});
  auto macs = [&](size_t tasks) {
    MultiTaskNet net(network("vgg16_largefov", 1.0 / 16, "single", mixed_tasks(tasks)));
    net->eval();
    return count_forward_flops([&] { net->forward(images); }).macs;
  };
  auto macs1 = macs(1);
  // seg column + LargeFOV head with hidden 16 (4 -> 16 3x3, 16 -> 16, 16 -> 5, on 5x5) plus the
  // second column and the classification head's 32 -> 4 linear.
  EXPECT_EQ(macs(2), 2 * macs1 - 25 * (16 * 16 + 16 * 5 + 32 * 9 * 16) + 32 * 4);
}

}  // namespace
}  // namespace nddr
