#pragma once
// Runs a function as every rank of a real process group, one thread per rank
// in this process, each with its own TCPStore connection and Gloo group on
// 127.0.0.1 (a free port per call, so tests may run in parallel).

#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "nddr/dist/process_group.h"
#include "nddr/dist/spawn.h"

namespace nddr::testing {

inline dist::LaunchEnv local_rank_env(int64_t rank, int64_t world_size, int64_t port) {
  dist::LaunchEnv env;
  env.launcher = "test";
  env.rank = rank;
  env.world_size = world_size;
  env.local_rank = rank;
  env.master_addr = "127.0.0.1";
  env.master_port = port;
  return env;
}

/// Calls `body(group)` on `world_size` ranks at once and rethrows the first
/// exception any of them threw, after all have finished.
inline void run_ranks(
    int64_t world_size, const std::function<void(std::shared_ptr<dist::ProcessGroup>)>& body,
    dist::ProcessGroupOptions options = dist::ProcessGroupOptions().timeout_seconds(30)) {
  const int64_t port = dist::free_local_port();
  std::vector<std::exception_ptr> errors(static_cast<size_t>(world_size));
  std::vector<std::thread> threads;
  for (int64_t rank = 0; rank < world_size; ++rank) {
    threads.emplace_back([&, rank] {
      try {
        auto group =
            std::make_shared<dist::ProcessGroup>(local_rank_env(rank, world_size, port), options);
        body(group);
      } catch (...) {
        errors[static_cast<size_t>(rank)] = std::current_exception();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& error : errors) {
    if (error) std::rethrow_exception(error);
  }
}

}  // namespace nddr::testing
