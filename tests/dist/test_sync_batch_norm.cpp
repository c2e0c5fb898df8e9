// SyncBatchNorm over two ranks against one BatchNorm on the concatenated
// batch, in double precision: outputs, input gradients, parameter gradients
// (summed over ranks) and running statistics.

#include <gtest/gtest.h>

#include "nddr/layers/batch_norm.h"
#include "rank_threads.h"

namespace nddr {
namespace {

constexpr double kTolerance = 1e-12;

struct Reference {
  torch::Tensor output, grad_input, grad_weight, grad_bias, running_mean, running_var;
};

torch::nn::BatchNorm2dOptions bn_options() {
  return torch::nn::BatchNorm2dOptions(3).momentum(0.3).eps(1e-3);
}

void set_affine(torch::nn::BatchNorm2dImpl& bn) {
  torch::NoGradGuard no_grad;
  bn.weight.copy_(torch::tensor({0.5, 1.5, -2.0}, torch::kDouble));
  bn.bias.copy_(torch::tensor({0.1, -0.2, 0.3}, torch::kDouble));
}

TEST(SyncBatchNorm, TwoRanksEqualOneBatchNormOnTheConcatenatedBatch) {
  torch::manual_seed(3);
  // Uneven slices (3 + 1 images): the statistics must weigh by element counts.
  const torch::Tensor input = torch::randn({4, 3, 5, 6}, torch::kDouble) * 2 + 1;
  const torch::Tensor upstream = torch::randn({4, 3, 5, 6}, torch::kDouble);
  const std::vector<int64_t> first = {0, 3};
  const std::vector<int64_t> size = {3, 1};

  Reference ref;
  {
    torch::nn::BatchNorm2d bn(bn_options());
    bn->to(torch::kDouble);
    set_affine(*bn);
    const torch::Tensor x = input.clone().requires_grad_(true);
    ref.output = bn->forward(x);
    (ref.output * upstream).sum().backward();
    ref.grad_input = x.grad();
    ref.grad_weight = bn->weight.grad();
    ref.grad_bias = bn->bias.grad();
    ref.running_mean = bn->running_mean.clone();
    ref.running_var = bn->running_var.clone();
  }

  std::vector<Reference> got(2);
  testing::run_ranks(2, [&](std::shared_ptr<dist::ProcessGroup> group) {
    const int64_t rank = group->rank();
    BatchNorm2d bn(bn_options());
    bn->to(torch::kDouble);
    set_affine(*bn);
    bn->set_sync(group);
    const torch::Tensor x = input.narrow(0, first[rank], size[rank]).clone().requires_grad_(true);
    Reference& mine = got[rank];
    mine.output = bn->forward(x);
    (mine.output * upstream.narrow(0, first[rank], size[rank])).sum().backward();
    mine.grad_input = x.grad();
    mine.grad_weight = bn->weight.grad();
    mine.grad_bias = bn->bias.grad();
    mine.running_mean = bn->running_mean.clone();
    mine.running_var = bn->running_var.clone();
    EXPECT_EQ(bn->num_batches_tracked.item<int64_t>(), 1);
  });

  for (int64_t rank = 0; rank < 2; ++rank) {
    const auto slice = [&](const torch::Tensor& t) { return t.narrow(0, first[rank], size[rank]); };
    EXPECT_TRUE(torch::allclose(got[rank].output, slice(ref.output), 0, kTolerance));
    EXPECT_TRUE(torch::allclose(got[rank].grad_input, slice(ref.grad_input), 0, kTolerance));
    EXPECT_TRUE(torch::allclose(got[rank].running_mean, ref.running_mean, 0, kTolerance));
    EXPECT_TRUE(torch::allclose(got[rank].running_var, ref.running_var, 0, kTolerance));
  }
  EXPECT_TRUE(
      torch::allclose(got[0].grad_weight + got[1].grad_weight, ref.grad_weight, 0, kTolerance));
  EXPECT_TRUE(torch::allclose(got[0].grad_bias + got[1].grad_bias, ref.grad_bias, 0, kTolerance));
}

TEST(SyncBatchNorm, EvaluationModeUsesTheRunningStatisticsWithoutCommunicating) {
  testing::run_ranks(2, [&](std::shared_ptr<dist::ProcessGroup> group) {
    BatchNorm2d synced(bn_options());
    torch::nn::BatchNorm2d plain(bn_options());
    synced->set_sync(group);
    synced->eval();
    plain->eval();
    // Only rank 0 runs a forward: a collective would block until the timeout.
    if (group->rank() == 0) {
      const torch::Tensor x = torch::randn({2, 3, 4, 4});
      EXPECT_TRUE(torch::equal(synced->forward(x), plain->forward(x)));
    }
  });
}

}  // namespace
}  // namespace nddr

namespace nddr {
namespace {

TEST(SyncBatchNorm, CloneIsADeepCopyOfTheSameType) {
  BatchNorm2d bn(bn_options());
  {
    torch::NoGradGuard no_grad;
    bn->running_mean.fill_(0.25);
    bn->weight.fill_(2.0);
  }
  bn->eval();
  const auto copy = std::dynamic_pointer_cast<BatchNorm2dImpl>(bn->clone());
  ASSERT_NE(copy, nullptr);
  EXPECT_FALSE(copy->is_training());
  EXPECT_TRUE(torch::equal(copy->running_mean, bn->running_mean));
  EXPECT_TRUE(torch::equal(copy->weight, bn->weight));
  {
    torch::NoGradGuard no_grad;
    copy->weight.fill_(3.0);
  }
  EXPECT_EQ(bn->weight[0].item<float>(), 2.0f);
}

}  // namespace
}  // namespace nddr
