#include <gtest/gtest.h>

#include <map>

#include "nddr/dist/launch_env.h"
#include "nddr/util/error.h"

namespace nddr::dist {
namespace {

LaunchEnv read(const std::map<std::string, std::string>& variables) {
  return read_launch_env([&](const char* name) -> const char* {
    const auto found = variables.find(name);
    return found == variables.end() ? nullptr : found->second.c_str();
  });
}

std::string error_of(const std::map<std::string, std::string>& variables) {
  try {
    read(variables);
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

TEST(LaunchEnv, NoLauncherIsOneProcess) {
  const LaunchEnv env = read({{"HOME", "/root"}});
  EXPECT_EQ(env.launcher, "");
  EXPECT_EQ(env.world_size, 1);
  EXPECT_EQ(env.rank, 0);
}

TEST(LaunchEnv, ReadsTorchrun) {
  const LaunchEnv env = read({{"RANK", "3"},
                              {"WORLD_SIZE", "4"},
                              {"LOCAL_RANK", "1"},
                              {"MASTER_ADDR", "10.0.0.7"},
                              {"MASTER_PORT", "29600"},
                              {"TORCHELASTIC_USE_AGENT_STORE", "True"},
                              {"TORCHELASTIC_RESTART_COUNT", "2"}});
  EXPECT_EQ(env.launcher, "torchrun");
  EXPECT_EQ(env.rank, 3);
  EXPECT_EQ(env.world_size, 4);
  EXPECT_EQ(env.local_rank, 1);
  EXPECT_EQ(env.master_addr, "10.0.0.7");
  EXPECT_EQ(env.master_port, 29600);
  EXPECT_TRUE(env.use_agent_store);
  EXPECT_EQ(env.store_prefix, "/worker/attempt_2/");
}

TEST(LaunchEnv, ReadsSlurmAndTorchrunWinsInsideAnAllocation) {
  const std::map<std::string, std::string> slurm = {{"SLURM_PROCID", "5"},
                                                    {"SLURM_NTASKS", "8"},
                                                    {"SLURM_LOCALID", "1"},
                                                    {"SLURM_NNODES", "2"},
                                                    {"MASTER_ADDR", "node01"}};
  const LaunchEnv env = read(slurm);
  EXPECT_EQ(env.launcher, "slurm");
  EXPECT_EQ(env.rank, 5);
  EXPECT_EQ(env.world_size, 8);
  EXPECT_EQ(env.local_rank, 1);
  EXPECT_EQ(env.master_addr, "node01");
  EXPECT_EQ(env.master_port, 29500);

  auto both = slurm;
  both["RANK"] = "0";
  both["WORLD_SIZE"] = "2";
  EXPECT_EQ(read(both).launcher, "torchrun");
  EXPECT_EQ(read(both).world_size, 2);
}

TEST(LaunchEnv, ReadsOpenMpiOnOneNodeWithoutMasterAddr) {
  const LaunchEnv env = read({{"OMPI_COMM_WORLD_RANK", "1"},
                              {"OMPI_COMM_WORLD_SIZE", "2"},
                              {"OMPI_COMM_WORLD_LOCAL_RANK", "1"},
                              {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}});
  EXPECT_EQ(env.launcher, "openmpi");
  EXPECT_EQ(env.rank, 1);
  EXPECT_EQ(env.master_addr, "127.0.0.1");
}

TEST(LaunchEnv, BadValuesNameTheVariable) {
  EXPECT_NE(error_of({{"RANK", "x"}, {"WORLD_SIZE", "2"}}).find("RANK='x'"), std::string::npos);
  EXPECT_NE(error_of({{"RANK", "2"}, {"WORLD_SIZE", "2"}}).find("must be below WORLD_SIZE=2"),
            std::string::npos);
  EXPECT_NE(error_of({{"RANK", "0"}}).find("WORLD_SIZE"), std::string::npos);
  EXPECT_NE(
      error_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}})
          .find("MASTER_PORT=70000"),
      std::string::npos);
  EXPECT_NE(error_of({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "4"}, {"SLURM_NNODES", "2"}})
                .find("set MASTER_ADDR"),
            std::string::npos);
}

}  // namespace
}  // namespace nddr::dist
