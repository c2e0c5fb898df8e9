#include "nddr/train/batch_memory.h"

#include <gtest/gtest.h>

#include "nddr/config/config.h"
#include "nddr/train/run.h"
#include "nddr/util/error.h"

namespace nddr {
namespace {

// Three elementwise results of a [2,3,8,8] float tensor are 3 * 384 * 4
// bytes (tensor operands only: a scalar operand is an 8-byte tensor too); a view and an in-place op
// add no storage, nor does the input.
TEST(BatchMemory, CountsEachResultStorageOnce) {
  torch::nn::Linear unused(1, 1);
  const torch::Tensor input = torch::rand({2, 3, 8, 8});
  const int64_t bytes = forward_tensor_bytes(
      *unused,
      [&] {
        const torch::Tensor squared = input * input;
        const torch::Tensor rectified = torch::relu(squared);
        const torch::Tensor shifted = rectified + input;
        shifted.view({-1}).relu_();
        input.view({2, -1});
      },
      input);
  EXPECT_EQ(bytes, 3 * 384 * 4);
}

TEST(BatchMemory, WeightsAreNotActivations) {
  torch::nn::Linear linear(64, 32);
  const torch::Tensor input = torch::rand({4, 64});
  // linear: one [4,32] output; its transposed weight is a view of the weight.
  const int64_t bytes = forward_tensor_bytes(
      *linear, [&] { linear->forward(input); }, input);
  EXPECT_EQ(bytes, 4 * 32 * 4);
}

// The allocator's reports, followed explicitly: 1000 floats live alone,
// then 500 and 250 together (peak 4000 bytes); 1000 and 500 together (6000).
TEST(BatchMemory, PeakCountsWhatLivesAtOnce) {
  EXPECT_EQ(peak_allocated_bytes([] {
              { const torch::Tensor alone = torch::empty({1000}); }
              const torch::Tensor first = torch::empty({500});
              const torch::Tensor second = torch::empty({250});
            }),
            4000);
  EXPECT_EQ(peak_allocated_bytes([] {
              const torch::Tensor first = torch::empty({1000});
              const torch::Tensor second = torch::empty({500});
            }),
            6000);
  // Memory held before the pass is not the pass's.
  const torch::Tensor held = torch::empty({100000});
  EXPECT_EQ(peak_allocated_bytes([] { const torch::Tensor small = torch::empty({10}); }), 40);
}

MultiTaskNet tiny_net() {
  Config config;
  config.apply_override("network.width=0.125");
  config.apply_override("network.head_hidden=16");
  return network_from_config(config);
}

TEST(BatchMemory, PerImageEstimateLeavesTheNetworkAsItWas) {
  MultiTaskNet net = tiny_net();
  net->train();
  std::vector<torch::Tensor> before;
  for (const auto& tensor : net->named_parameters()) before.push_back(tensor.value().clone());
  for (const auto& tensor : net->named_buffers()) before.push_back(tensor.value().clone());
  const int64_t bytes = activation_bytes_per_image(*net, 3, 64, 48);
  // At least the network's input and first feature map.
  EXPECT_GT(bytes, 3 * 64 * 48 * 4);
  EXPECT_GT(inference_bytes_per_image(*net, 3, 64, 48), 3 * 64 * 48 * 4);
  EXPECT_TRUE(net->is_training());
  size_t i = 0;
  for (const auto& tensor : net->named_parameters()) {
    EXPECT_TRUE(tensor.value().equal(before[i++])) << tensor.key();
  }
  for (const auto& tensor : net->named_buffers()) {
    EXPECT_TRUE(tensor.value().equal(before[i++])) << tensor.key();
  }
}

// The estimate from a probe of a ninth of the pixels, against the peak of
// real inference passes at the full size: two more images (a batch of 4
// against 2) must add about twice the estimate.
TEST(BatchMemory, InferenceEstimateMatchesTheFullSizePeak) {
  MultiTaskNet net = tiny_net();
  net->eval();
  torch::NoGradGuard no_grad;
  const auto peak_at = [&](int64_t batch) {
    return peak_allocated_bytes([&] { net->forward(torch::zeros({batch, 3, 96, 96})); });
  };
  peak_at(2);
  const double measured = static_cast<double>(peak_at(4) - peak_at(2)) / 2;
  const double estimate = static_cast<double>(inference_bytes_per_image(*net, 3, 96, 96));
  EXPECT_GT(estimate, 0.8 * measured) << estimate << " vs " << measured;
  EXPECT_LT(estimate, 1.25 * measured) << estimate << " vs " << measured;
}

TEST(BatchMemory, TooLargeABatchIsAnErrorNamingTheKeyAndTheEstimate) {
  EXPECT_NO_THROW(check_batch_memory(9, 100'000'000, 999'000'000, "train.batch_size"));
  EXPECT_NO_THROW(check_batch_memory(1000, 100'000'000, 0, "train.batch_size"));  // unknown
  try {
    check_batch_memory(10, 100'000'000, 999'000'000, "train.batch_size");
    FAIL() << "accepted";
  } catch (const Error& e) {
    const std::string message = e.what();
    for (const char* part : {"train.batch_size = 10", "100.0 MB per image", "1.0 GB for the batch",
                             "more than this machine's 999.0 MB;", "at most 9 images fit"}) {
      EXPECT_NE(message.find(part), std::string::npos) << part << " in: " << message;
    }
  }
}

TEST(BatchMemory, MachineMemoryIsKnown) { EXPECT_GT(usable_memory_bytes(), int64_t{1} << 26); }

}  // namespace
}  // namespace nddr
