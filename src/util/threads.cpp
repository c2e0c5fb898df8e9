#include "nddr/util/threads.h"

#include <torch/torch.h>

#include <cstdlib>
#include <string>
#include <thread>

#include "nddr/util/error.h"

namespace nddr {

int default_threads() {
  if (const char* value = std::getenv("NDDR_THREADS")) {
    const std::string text = value;
    const bool digits = !text.empty() && text.size() < 6 &&
                        text.find_first_not_of("0123456789") == std::string::npos;
    if (!digits || std::stoi(text) < 1) {
      throw Error("NDDR_THREADS must be a positive integer, got '" + text + "'");
    }
    return std::stoi(text);
  }
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

int configure_threads(int threads) {
  if (threads <= 0) threads = default_threads();
  torch::set_num_threads(threads);
  return torch::get_num_threads();
}

}  // namespace nddr
