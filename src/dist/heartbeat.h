#pragma once
// Which ranks are still alive: every rank bumps a counter in the TCPStore at
// a fixed interval and reads everyone else's, on its own store connection and
// thread (so a hung master never blocks a collective's error path). When a
// collective fails, the ranks whose counter stopped moving are named in the
// error; a store that stops answering means rank 0, its host, is gone.

#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace nddr::dist {

class Heartbeat {
 public:
  Heartbeat(const std::string& master_addr, int64_t master_port, const std::string& key_prefix,
            int64_t rank, int64_t world_size, std::chrono::milliseconds interval);
  /// Stops the thread without waiting for it (it may be blocked on a dead store).
  ~Heartbeat();
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;

  /// "rank 1 stopped responding" / "rank 0 (the master) stopped responding" /
  /// "" when every peer still beats. Waits up to three intervals so that a
  /// peer that died just now shows.
  std::string unresponsive_peers() const;

  struct Shared;

 private:
  std::shared_ptr<Shared> shared_;
  std::chrono::milliseconds interval_;
};

}  // namespace nddr::dist
