#pragma once
// `nddr train --nproc N`: one machine, no launcher. The parent runs N copies
// of a command as ranks 0..N-1 with torchrun's variables set (RANK,
// WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1 and a free
// MASTER_PORT), forwards SIGINT/SIGTERM/SIGHUP to all of them, and as soon as
// one fails stops the others (SIGTERM, then SIGKILL after a grace period).

#include <cstdint>
#include <string>
#include <vector>

namespace nddr::dist {

struct SpawnOutcome {
  /// 0 when every rank exited with 0.
  int exit_code = 0;
  /// Which rank failed first and how ("rank 1 exited with status 2"), or
  /// which signal stopped the job; "" on success.
  std::string failure;
};

/// A TCP port on 127.0.0.1 that nothing listens on now (the kernel's pick).
int64_t free_local_port();

/// Runs `argv` (argv[0] an executable path) as `nproc` local ranks and waits
/// for all of them. Error when nproc < 1 or a process cannot be started.
SpawnOutcome spawn_local_ranks(const std::vector<std::string>& argv, int64_t nproc);

}  // namespace nddr::dist
