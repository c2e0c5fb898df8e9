#pragma once
// Where this process sits in a distributed job, read from the variables the
// launchers people already use set:
//   torchrun / torch.distributed.run: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT
//   Slurm (srun):                     SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, SLURM_NNODES
//   Open MPI (mpirun):                OMPI_COMM_WORLD_RANK, _SIZE, _LOCAL_RANK, _LOCAL_SIZE
// torchrun's variables win over Slurm's, Slurm's over Open MPI's (torchrun
// inside an allocation is torchrun). MASTER_ADDR and MASTER_PORT name the
// rendezvous (rank 0's TCPStore, or torchrun's own) under every launcher; a single-node Slurm
// or Open MPI job may leave MASTER_ADDR unset (127.0.0.1).

#include <cstdint>
#include <functional>
#include <string>

namespace nddr::dist {

struct LaunchEnv {
  /// "torchrun", "slurm", "openmpi", or "" when no launcher variable is set.
  std::string launcher;
  int64_t rank = 0;
  int64_t world_size = 1;
  int64_t local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int64_t master_port = 29500;
  /// torchrun's static rendezvous (TORCHELASTIC_USE_AGENT_STORE=True): the
  /// launcher already serves the TCPStore at MASTER_ADDR:MASTER_PORT, so
  /// every rank is a client, under the key prefix of this restart attempt.
  bool use_agent_store = false;
  std::string store_prefix;
};

/// Reads a launch environment through `lookup` (getenv-like: null when a
/// variable is unset). A malformed or inconsistent value (RANK >= WORLD_SIZE,
/// a port out of range, a multi-node job without MASTER_ADDR) is an Error
/// naming the variable.
LaunchEnv read_launch_env(const std::function<const char*(const char*)>& lookup);

/// read_launch_env of this process's environment.
LaunchEnv launch_env_from_environment();

}  // namespace nddr::dist
