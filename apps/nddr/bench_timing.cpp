#include "bench_timing.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <limits>
#include <numeric>
#include <string>

#include "nddr/compat.h"
#include "nddr/train/execution.h"
#include "nddr/util/strings.h"

namespace nddr::cli {

namespace {

// Peak resident set size of this process so far (VmHWM), in MiB; NaN where
// /proc is unavailable.
double peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (starts_with(line, "VmHWM:")) return std::stod(line.substr(6)) / 1024.0;
  }
  return std::numeric_limits<double>::quiet_NaN();
}

double process_cpu_ms() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e3 + static_cast<double>(now.tv_nsec) * 1e-6;
}

double median_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2.0;
}

}  // namespace

void to_json(nlohmann::json& out, const Timing& timing) {
  out = {{"min_ms", timing.min_ms},
         {"median_ms", timing.median_ms},
         {"mean_ms", timing.mean_ms},
         {"cpu_median_ms", timing.cpu_median_ms},
         {"cpu_min_ms", timing.cpu_min_ms},
         {"images_per_second", timing.images_per_second},
         {"peak_rss_mib", timing.peak_rss_mib},
         {"peak_device_memory_mib", timing.peak_device_memory_mib},
         {"tflops", timing.tflops},
         {"mfu", timing.mfu ? nlohmann::json(*timing.mfu) : nlohmann::json()}};
}

std::vector<Timing> time_interleaved(int64_t warmup, int64_t iters, int64_t batch,
                                     const torch::Device& device,
                                     const std::vector<Iteration>& bodies) {
  using Clock = std::chrono::steady_clock;
  const size_t count = bodies.size();
  for (const auto& body : bodies) {
    for (int64_t i = 0; i < warmup; ++i) body(i);
  }
  synchronize(device);
  if (device.is_cuda()) compat::reset_peak_device_memory(device.index());
  std::vector<std::vector<double>> wall(count), cpu(count);
  for (int64_t i = 0; i < iters; ++i) {
    for (size_t k = 0; k < count; ++k) {
      const size_t which = (static_cast<size_t>(i) + k) % count;
      const auto start = Clock::now();
      const double cpu_start = process_cpu_ms();
      bodies[which](warmup + i);
      synchronize(device);
      cpu[which].push_back(process_cpu_ms() - cpu_start);
      wall[which].push_back(
          std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    }
  }
  std::vector<Timing> timings(count);
  for (size_t k = 0; k < count; ++k) {
    Timing& timing = timings[k];
    timing.min_ms = *std::min_element(wall[k].begin(), wall[k].end());
    timing.median_ms = median_of(wall[k]);
    timing.mean_ms =
        std::accumulate(wall[k].begin(), wall[k].end(), 0.0) / static_cast<double>(iters);
    timing.cpu_min_ms = *std::min_element(cpu[k].begin(), cpu[k].end());
    timing.cpu_median_ms = median_of(cpu[k]);
    timing.images_per_second = static_cast<double>(batch) * 1000.0 / timing.mean_ms;
    timing.peak_rss_mib = peak_rss_mib();
    if (device.is_cuda()) {
      timing.peak_device_memory_mib =
          static_cast<double>(compat::peak_device_memory(device.index())) / (1024.0 * 1024.0);
    }
  }
  return timings;
}

Timing time_iterations(int64_t warmup, int64_t iters, int64_t batch, const torch::Device& device,
                       const Iteration& body) {
  return time_interleaved(warmup, iters, batch, device, {body}).front();
}

void add_throughput(Timing& timing, double flop_per_iteration, std::optional<double> peak) {
  timing.tflops = flop_per_iteration / (timing.mean_ms * 1e-3) / 1e12;
  if (peak) timing.mfu = timing.tflops / *peak;
}

}  // namespace nddr::cli
