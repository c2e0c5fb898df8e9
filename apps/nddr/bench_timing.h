#pragma once
// How `nddr bench` times a phase: warm-up iterations, then timed ones, each
// ending with the device's queue drained. Phases that are to be compared run
// interleaved, one iteration of each in turn, so that on a shared, loaded
// machine every phase sees the same load; each iteration also records the
// process's CPU time, which with one LibTorch thread is the work itself and
// barely moves when other processes take the cores away.

#include <torch/torch.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

namespace nddr::cli {

struct Timing {
  double min_ms = 0.0;  ///< the least disturbed iteration (loaded machines)
  double median_ms = 0.0;
  double mean_ms = 0.0;
  /// Process CPU time per iteration (all threads): median and least. With
  /// one thread it tracks the work even on a loaded machine; with more it
  /// also counts threads spinning while they wait.
  double cpu_median_ms = 0.0;
  double cpu_min_ms = 0.0;
  double images_per_second = 0.0;
  double peak_rss_mib = 0.0;
  /// CUDA: the caching allocator's peak during this phase; -1 on the CPU.
  double peak_device_memory_mib = -1.0;
  /// Achieved TFLOP/s from the counted FLOPs per iteration and the mean time.
  double tflops = 0.0;
  /// tflops over the device's peak at this precision; absent when unknown.
  std::optional<double> mfu;
};

void to_json(nlohmann::json& out, const Timing& timing);

using Iteration = std::function<void(int64_t iteration)>;

/// Runs every body `warmup` times, then `iters` rounds of one timed iteration
/// of each body, starting each round with the next body in turn (so none is
/// always first); returns one Timing per body, in order. images/s is batch
/// over the mean time. Peak RSS is the process's after all of them.
std::vector<Timing> time_interleaved(int64_t warmup, int64_t iters, int64_t batch,
                                     const torch::Device& device,
                                     const std::vector<Iteration>& bodies);

/// time_interleaved of one body.
Timing time_iterations(int64_t warmup, int64_t iters, int64_t batch, const torch::Device& device,
                       const Iteration& body);

void add_throughput(Timing& timing, double flop_per_iteration, std::optional<double> peak);

}  // namespace nddr::cli
