// Inference (forward) and training-step (forward+backward) time of ways to compute an NDDR layer at
// the paper's sizes (K=2 tasks; C=64 at 161x161 after pool1, C=512 at 41x41 after pool4/5; batch 2)
// on 2 threads. Every candidate gives the same outputs and gradients as NddrLayer::forward (checked
// before timing); the layer's forward uses the fastest.
//
// (one command line; no backslash here, which would continue the comment)
//   bench_fusion_layers --benchmark_repetitions=7 --benchmark_enable_random_interleaving=true
//     --benchmark_report_aggregates_only=true --benchmark_min_time=0.1

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <algorithm>
#include <functional>
#include <string>

#include "nddr/layers/cross_stitch.h"
#include "nddr/layers/nddr_layer.h"

namespace {

using Features = std::vector<torch::Tensor>;
using Candidate = std::function<Features(nddr::NddrLayer&, const Features&)>;

constexpr int64_t kTasks = 2;
constexpr int64_t kBatch = 2;
constexpr int kThreads = 2;

torch::Tensor conv_weight(nddr::NddrLayer& layer, int64_t k) {
  return layer->conv[k]->as<torch::nn::Conv2d>()->weight;
}

// Every task's weight stacked: [K*C, K*C, 1, 1], rows of task k first.
torch::Tensor stacked_weight(nddr::NddrLayer& layer) {
  Features weights;
  for (int64_t k = 0; k < layer->options.num_tasks(); ++k) weights.push_back(conv_weight(layer, k));
  return torch::cat(weights, 0);
}

Features batch_norm_relu(nddr::NddrLayer& layer, Features reduced) {
  for (size_t k = 0; k < reduced.size(); ++k) {
    reduced[k] = torch::relu(layer->bn[k]->as<torch::nn::BatchNorm2d>()->forward(reduced[k]));
  }
  return reduced;
}

// K convs K*C -> C over the materialised concatenation (the paper's formulation).
Features concat_then_conv_per_task(nddr::NddrLayer& layer, const Features& x) {
  const auto concat = torch::cat(x, 1);
  Features reduced;
  for (int64_t k = 0; k < layer->options.num_tasks(); ++k) {
    reduced.push_back(torch::conv2d(concat, conv_weight(layer, k)));
  }
  return batch_norm_relu(layer, reduced);
}

// sum_j W_kj x_j: K*K convs C -> C, no concatenation.
Features block_convs_per_task(nddr::NddrLayer& layer, const Features& x) {
  const int64_t channels = layer->options.channels();
  Features reduced;
  for (int64_t k = 0; k < layer->options.num_tasks(); ++k) {
    const auto weight = conv_weight(layer, k);
    torch::Tensor sum;
    for (size_t j = 0; j < x.size(); ++j) {
      const auto term = torch::conv2d(x[j], weight.narrow(1, j * channels, channels));
      sum = sum.defined() ? sum + term : term;
    }
    reduced.push_back(sum);
  }
  return batch_norm_relu(layer, reduced);
}

// sum_j W_:j x_j with the stacked weights: K convs C -> K*C, no concatenation.
Features block_convs_stacked(nddr::NddrLayer& layer, const Features& x) {
  const int64_t channels = layer->options.channels();
  const auto weight = stacked_weight(layer);
  torch::Tensor sum;
  for (size_t j = 0; j < x.size(); ++j) {
    const auto term = torch::conv2d(x[j], weight.narrow(1, j * channels, channels));
    sum = sum.defined() ? sum + term : term;
  }
  return batch_norm_relu(layer, sum.chunk(layer->options.num_tasks(), 1));
}

// The concatenation as a batched matmul [K*C, K*C] x [N, K*C, H*W].
Features concat_then_matmul(nddr::NddrLayer& layer, const Features& x) {
  const auto& shape = x[0].sizes();
  const int64_t tasks = layer->options.num_tasks();
  const auto weight = stacked_weight(layer).flatten(1);
  const auto all = torch::matmul(weight, torch::cat(x, 1).flatten(2));
  return batch_norm_relu(
      layer, all.view({shape[0], tasks * shape[1], shape[2], shape[3]}).chunk(tasks, 1));
}

// sum_j W_:j x_j as matmuls, accumulated in place, no concatenation.
Features block_matmuls_stacked(nddr::NddrLayer& layer, const Features& x) {
  const auto& shape = x[0].sizes();
  const int64_t channels = shape[1];
  const int64_t tasks = layer->options.num_tasks();
  const auto weight = stacked_weight(layer).flatten(1);
  torch::Tensor sum;
  for (size_t j = 0; j < x.size(); ++j) {
    const auto term = torch::matmul(weight.narrow(1, j * channels, channels), x[j].flatten(2));
    sum = sum.defined() ? sum + term : term;
  }
  return batch_norm_relu(
      layer, sum.view({shape[0], tasks * channels, shape[2], shape[3]}).chunk(tasks, 1));
}

const std::vector<std::pair<std::string, Candidate>>& candidates() {
  static const std::vector<std::pair<std::string, Candidate>> list = {
      // One conv K*C -> K*C with the stacked weights over the concatenation.
      {"layer", [](nddr::NddrLayer& layer, const Features& x) { return layer->forward(x); }},
      {"concat_conv_per_task", concat_then_conv_per_task},
      {"block_convs_per_task", block_convs_per_task},
      {"block_convs_stacked", block_convs_stacked},
      {"concat_matmul", concat_then_matmul},
      {"block_matmuls_stacked", block_matmuls_stacked},
  };
  return list;
}

Features make_features(int64_t channels, int64_t size, bool requires_grad) {
  Features x;
  for (int64_t k = 0; k < kTasks; ++k) {
    x.push_back(torch::randn({kBatch, channels, size, size}).requires_grad_(requires_grad));
  }
  return x;
}

// Outputs and input gradients of `candidate` equal the layer's own (up to
// float summation order); a wrong candidate must not get a time.
bool agrees_with_layer(const Candidate& candidate) {
  torch::manual_seed(0);
  nddr::NddrLayer layer(nddr::NddrLayerOptions(kTasks, 8).init(nddr::FusionInit::kXavier));
  auto x = make_features(8, 5, true);
  const auto expected = layer->forward(x);
  const auto expected_grad = torch::autograd::grad({expected[0].sum() + expected[1].sum()}, x);
  const auto actual = candidate(layer, x);
  const auto actual_grad = torch::autograd::grad({actual[0].sum() + actual[1].sum()}, x);
  for (int64_t k = 0; k < kTasks; ++k) {
    if (!torch::allclose(actual[k], expected[k], 1e-4, 1e-5)) return false;
    if (!torch::allclose(actual_grad[k], expected_grad[k], 1e-4, 1e-5)) return false;
  }
  return true;
}

void run(benchmark::State& state, const Candidate& candidate, bool backward) {
  torch::set_num_threads(kThreads);
  if (!agrees_with_layer(candidate)) {
    state.SkipWithError("outputs differ from NddrLayer::forward");
    return;
  }
  const int64_t channels = state.range(0);
  const int64_t size = state.range(1);
  nddr::NddrLayer layer(kTasks, channels);
  // Forward alone is timed as inference; with backward as a training step.
  layer->train(backward);
  const auto x = make_features(channels, size, backward);
  Features grads;
  for (int64_t k = 0; k < kTasks; ++k) grads.push_back(torch::randn_like(x[0]));
  const auto step = [&] {
    if (backward) {
      torch::autograd::backward(candidate(layer, x), grads);
    } else {
      torch::NoGradGuard no_grad;
      benchmark::DoNotOptimize(candidate(layer, x));
    }
  };
  step();  // first-touch allocations and oneDNN primitive creation stay out of the timing
  for (auto _ : state) step();
}

void run_cross_stitch(benchmark::State& state) {
  torch::set_num_threads(kThreads);
  nddr::CrossStitch unit(kTasks, state.range(0));
  const auto x = make_features(state.range(0), state.range(1), true);
  Features grads = {torch::randn_like(x[0]), torch::randn_like(x[0])};
  for (auto _ : state) torch::autograd::backward(unit->forward(x), grads);
}

void add_sizes(benchmark::internal::Benchmark* bench) {
  bench->Args({64, 161})->Args({512, 41})->Unit(benchmark::kMillisecond)->UseRealTime();
  // On a shared machine the fastest repetition is the one least disturbed, and
  // CPU time of all threads is steadier than wall time.
  bench->MeasureProcessCPUTime()->ComputeStatistics(
      "min", [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); });
}

const bool kRegistered = [] {
  for (const auto& [name, candidate] : candidates()) {
    for (const bool backward : {false, true}) {
      const std::string label = "nddr/" + name + (backward ? "/forward_backward" : "/forward");
      add_sizes(benchmark::RegisterBenchmark(
          label.c_str(), [candidate = candidate, backward](benchmark::State& state) {
            run(state, candidate, backward);
          }));
    }
  }
  add_sizes(benchmark::RegisterBenchmark("cross_stitch/forward_backward", run_cross_stitch));
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
