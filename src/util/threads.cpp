#include "nddr/util/threads.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <thread>

#include "nddr/util/error.h"
#include "nddr/util/strings.h"

namespace nddr {

namespace {

// Threads per core beyond which a count only oversubscribes.
constexpr int64_t kThreadsPerCore = 4;

}  // namespace

int64_t max_thread_count() {
  const auto cores = static_cast<int64_t>(std::max(1u, std::thread::hardware_concurrency()));
  return kThreadsPerCore * cores;
}

int default_threads() {
  if (const char* value = std::getenv("NDDR_THREADS")) {
    const auto threads = parse_small_count(value);
    if (!threads || *threads < 1 || *threads > max_thread_count()) {
      throw Error("NDDR_THREADS must be an integer in [1, " + std::to_string(max_thread_count()) +
                  "] (4 per core), got '" + std::string(value) + "'");
    }
    return static_cast<int>(*threads);
  }
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

int default_workers() {
  constexpr int kMaxAutoWorkers = 8;
  return std::clamp(default_threads() / 2, 1, kMaxAutoWorkers);
}

int configure_threads(int threads) {
  if (threads <= 0) threads = default_threads();
  torch::set_num_threads(threads);
  return torch::get_num_threads();
}

}  // namespace nddr
