#include "nddr/util/threads.h"

#include <torch/torch.h>

#include <cstdlib>
#include <string>
#include <thread>

#include "nddr/util/error.h"
#include "nddr/util/strings.h"

namespace nddr {

int default_threads() {
  if (const char* value = std::getenv("NDDR_THREADS")) {
    const auto threads = parse_small_count(value);
    if (!threads || *threads < 1) {
      throw Error("NDDR_THREADS must be a positive integer, got '" + std::string(value) + "'");
    }
    return static_cast<int>(*threads);
  }
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

int configure_threads(int threads) {
  if (threads <= 0) threads = default_threads();
  torch::set_num_threads(threads);
  return torch::get_num_threads();
}

}  // namespace nddr
