#include "nddr/train/rank_device.h"

#include <atomic>

#include "nddr/util/error.h"

namespace nddr {

namespace {

std::atomic<int64_t> local_rank_of_process{0};

}  // namespace

std::string device_for_local_rank(const std::string& value, int64_t local_rank,
                                  int64_t cuda_devices, const std::string& key) {
  if (local_rank < 0) throw Error(key + ": local rank " + std::to_string(local_rank) + " < 0");
  const bool to_cuda = value == "cuda" || (value == "auto" && cuda_devices > 0);
  if (value == "auto" && !to_cuda) return "cpu";
  if (!to_cuda || cuda_devices == 0) return value;
  if (local_rank >= cuda_devices) {
    throw Error(key + ": '" + value + "' on local rank " + std::to_string(local_rank) +
                " means cuda:" + std::to_string(local_rank) + ", but this machine has " +
                std::to_string(cuda_devices) +
                " CUDA device(s); start at most that many ranks per node, or set cuda:N");
  }
  return "cuda:" + std::to_string(local_rank);
}

void set_process_local_rank(int64_t local_rank) {
  if (local_rank < 0) throw Error("local rank " + std::to_string(local_rank) + " < 0");
  local_rank_of_process = local_rank;
}

int64_t process_local_rank() { return local_rank_of_process; }

}  // namespace nddr
