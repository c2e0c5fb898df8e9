#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <tuple>

#include "nddr/models/fold_batchnorm.h"
#include "network_helpers.h"

namespace nddr {
namespace {

using testing::mixed_tasks;
using testing::network;
using testing::randomise_batchnorms;

using Case = std::tuple<std::string, std::string, size_t>;  // backbone, method, tasks

class FoldBatchNorm : public ::testing::TestWithParam<Case> {};

TEST_P(FoldBatchNorm, FoldedNetworkComputesTheEvalOutputsWithoutBatchNorms) {
  const auto& [backbone, method, tasks] = GetParam();
  torch::manual_seed(3);
  MultiTaskNet net(network(backbone, 0.125, method, mixed_tasks(tasks)));
  randomise_batchnorms(*net);
  net->to(torch::kDouble);
  net->eval();
  ASSERT_GT(count_batchnorms(*net), 0);

  const torch::Tensor images = torch::randn({2, 3, 32, 40}, torch::kDouble);
  torch::NoGradGuard no_grad;
  const auto expected = net->forward(images);
  MultiTaskNet folded = batchnorm_folded(*net);

  EXPECT_EQ(count_batchnorms(*folded), 0);
  for (const auto& parameter : folded->named_parameters()) {
    EXPECT_EQ(parameter.key().find("bn"), std::string::npos) << parameter.key();
  }
  EXPECT_GT(count_batchnorms(*net), 0) << "the copy must leave the original alone";
  EXPECT_FALSE(folded->is_training());
  const auto outputs = folded->forward(images);
  ASSERT_EQ(outputs.size(), expected.size());
  for (const auto& [task, output] : expected) {
    EXPECT_EQ(outputs.at(task).scalar_type(), torch::kDouble);
    const double error = (outputs.at(task) - output).abs().max().item<double>();
    EXPECT_LT(error, 1e-9) << task;
  }
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return std::get<0>(info.param) + "_" + std::get<1>(info.param) + "_" +
         std::to_string(std::get<2>(info.param));
}

INSTANTIATE_TEST_SUITE_P(EveryMethod, FoldBatchNorm,
                         ::testing::Combine(::testing::Values("vgg16_largefov", "resnet18"),
                                            ::testing::Values("single", "split", "cross_stitch",
                                                              "nddr", "nddr_shortcut", "sluice"),
                                            ::testing::Values(size_t{2})),
                         case_name);
// Bottleneck blocks (1x1 conv3/bn3) and a mixed set with a classification head.
INSTANTIATE_TEST_SUITE_P(Bottleneck, FoldBatchNorm, ::testing::Values(Case{"resnet50", "nddr", 3}),
                         case_name);
INSTANTIATE_TEST_SUITE_P(MixedTasks, FoldBatchNorm,
                         ::testing::Values(Case{"vgg16_largefov", "nddr_shortcut", 4}), case_name);

// In float the folded network stays within the tolerance export promises.
TEST(FoldBatchNormFloat, MatchesWithin1e4) {
  torch::manual_seed(5);
  MultiTaskNet net(network("vgg16_largefov", 0.125, "nddr", mixed_tasks(2)));
  randomise_batchnorms(*net);
  net->eval();
  const torch::Tensor images = torch::randn({1, 3, 24, 24});
  torch::NoGradGuard no_grad;
  const auto expected = net->forward(images);
  fold_batchnorm(*net);
  EXPECT_EQ(count_batchnorms(*net), 0);
  for (const auto& [task, output] : net->forward(images)) {
    EXPECT_LT((output - expected.at(task)).abs().max().item<double>(), 1e-4) << task;
  }
}

}  // namespace
}  // namespace nddr
