#include <gtest/gtest.h>

#include <map>

#include "nddr/dist/launch_env.h"
#include "nddr/train/execution.h"
#include "nddr/train/rank_device.h"
#include "nddr/util/error.h"

namespace nddr {
namespace {

int64_t local_rank_of(const std::map<std::string, std::string>& variables) {
  return dist::read_launch_env([&](const char* name) -> const char* {
           const auto found = variables.find(name);
           return found == variables.end() ? nullptr : found->second.c_str();
         })
      .local_rank;
}

// Each launcher's local-rank variable picks the GPU of auto and cuda.
TEST(RankDevice, EachLauncherMapsAutoAndCudaToItsLocalRank) {
  const std::vector<std::map<std::string, std::string>> launches = {
      {{"RANK", "3"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"}, {"MASTER_ADDR", "h"}},
      {{"SLURM_PROCID", "3"}, {"SLURM_NTASKS", "4"}, {"SLURM_LOCALID", "1"}, {"MASTER_ADDR", "h"}},
      {{"OMPI_COMM_WORLD_RANK", "3"},
       {"OMPI_COMM_WORLD_SIZE", "4"},
       {"OMPI_COMM_WORLD_LOCAL_RANK", "1"},
       {"MASTER_ADDR", "h"}}};
  for (const auto& launch : launches) {
    const int64_t local = local_rank_of(launch);
    EXPECT_EQ(device_for_local_rank("auto", local, 2), "cuda:1");
    EXPECT_EQ(device_for_local_rank("cuda", local, 2), "cuda:1");
    EXPECT_EQ(device_for_local_rank("cuda:0", local, 2), "cuda:0");  // as written
    EXPECT_EQ(device_for_local_rank("cpu", local, 2), "cpu");
    EXPECT_EQ(device_for_local_rank("auto", local, 0), "cpu");   // no CUDA
    EXPECT_EQ(device_for_local_rank("cuda", local, 0), "cuda");  // resolve_device's error
  }
  EXPECT_EQ(device_for_local_rank("auto", local_rank_of({}), 1), "cuda:0");  // one process
}

TEST(RankDevice, MoreRanksThanGpusIsAnErrorNamingTheKey) {
  try {
    device_for_local_rank("cuda", 2, 2, "device");
    FAIL() << "local rank 2 of 2 GPUs was accepted";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("device: 'cuda' on local rank 2 means cuda:2"), std::string::npos)
        << message;
    EXPECT_NE(message.find("2 CUDA device(s)"), std::string::npos) << message;
  }
  EXPECT_THROW(device_for_local_rank("auto", 1, 1), Error);
  EXPECT_THROW(set_process_local_rank(-1), Error);
}

// On this CPU machine the process's local rank leaves auto on the CPU and
// cuda a clear error; resolve_device reads the rank set for the process.
TEST(RankDevice, ResolveDeviceAppliesTheProcessLocalRank) {
  set_process_local_rank(1);
  EXPECT_EQ(process_local_rank(), 1);
  if (!torch::cuda::is_available()) {
    EXPECT_EQ(resolve_device("auto"), torch::Device(torch::kCPU));
    EXPECT_THROW(resolve_device("cuda"), Error);
  } else if (torch::cuda::device_count() > 1) {
    EXPECT_EQ(resolve_device("cuda"), torch::Device(torch::kCUDA, 1));
    EXPECT_EQ(resolve_device("auto"), torch::Device(torch::kCUDA, 1));
  }
  set_process_local_rank(0);
  EXPECT_EQ(resolve_device("cpu"), torch::Device(torch::kCPU));
}

}  // namespace
}  // namespace nddr
