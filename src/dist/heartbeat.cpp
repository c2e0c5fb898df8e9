#include "heartbeat.h"

#include <condition_variable>
#include <mutex>
#include <thread>

#include "nddr/util/strings.h"

namespace nddr::dist {

using Clock = std::chrono::steady_clock;

struct Heartbeat::Shared {
  std::mutex mutex;
  std::condition_variable wake;
  bool stop = false;
  bool finished = false;
  bool store_lost = false;
  Clock::time_point last_tick = Clock::now();
  std::vector<int64_t> counts;
  std::vector<Clock::time_point> last_change;
};

namespace {

void beat(const std::shared_ptr<Heartbeat::Shared>& shared, const std::string& master_addr,
          int64_t master_port, const std::string& key_prefix, int64_t rank, int64_t world_size,
          std::chrono::milliseconds interval) {
  auto key_of = [&](int64_t peer) { return key_prefix + "nddr/heartbeat/" + std::to_string(peer); };
  try {
    c10d::TCPStoreOptions options;
    options.port = static_cast<std::uint16_t>(master_port);
    options.isServer = false;
    options.waitWorkers = false;
    options.timeout = 3 * interval;
    c10d::TCPStore store(master_addr, options);
    while (true) {
      store.add(key_of(rank), 1);
      std::vector<int64_t> counts;
      for (int64_t peer = 0; peer < world_size; ++peer)
        counts.push_back(store.add(key_of(peer), 0));
      std::unique_lock<std::mutex> lock(shared->mutex);
      const auto now = Clock::now();
      shared->last_tick = now;
      for (int64_t peer = 0; peer < world_size; ++peer) {
        if (counts[peer] != shared->counts[peer]) {
          shared->counts[peer] = counts[peer];
          shared->last_change[peer] = now;
        }
      }
      if (shared->wake.wait_for(lock, interval, [&] { return shared->stop; })) break;
    }
  } catch (const std::exception&) {
    const std::lock_guard<std::mutex> lock(shared->mutex);
    shared->store_lost = true;
  }
  const std::lock_guard<std::mutex> lock(shared->mutex);
  shared->finished = true;
  shared->wake.notify_all();
}

}  // namespace

Heartbeat::Heartbeat(const std::string& master_addr, int64_t master_port,
                     const std::string& key_prefix, int64_t rank, int64_t world_size,
                     std::chrono::milliseconds interval)
    : shared_(std::make_shared<Shared>()), interval_(interval) {
  shared_->counts.assign(static_cast<size_t>(world_size), -1);
  shared_->last_change.assign(static_cast<size_t>(world_size), Clock::now());
  // Detached: on a hung master the thread blocks in the store, and a join
  // would block the process's exit with it.
  std::thread(beat, shared_, master_addr, master_port, key_prefix, rank, world_size, interval)
      .detach();
}

Heartbeat::~Heartbeat() {
  std::unique_lock<std::mutex> lock(shared_->mutex);
  shared_->stop = true;
  shared_->wake.notify_all();
  // Let it close its connection before the process exits, unless it is stuck
  // on a store that no longer answers.
  shared_->wake.wait_for(lock, 2 * interval_, [&] { return shared_->finished; });
}

std::string Heartbeat::unresponsive_peers() const {
  std::this_thread::sleep_for(3 * interval_);
  const std::lock_guard<std::mutex> lock(shared_->mutex);
  const auto now = Clock::now();
  const auto stale = 5 * interval_ / 2;
  if (shared_->store_lost || now - shared_->last_tick > stale) {
    return "rank 0 (the master, which serves the rendezvous store) stopped responding";
  }
  std::vector<std::string> ranks;
  for (size_t peer = 0; peer < shared_->counts.size(); ++peer) {
    if (now - shared_->last_change[peer] > stale) ranks.push_back(std::to_string(peer));
  }
  if (ranks.empty()) return "";
  return (ranks.size() == 1 ? "rank " : "ranks ") + join(ranks, ", ") + " stopped responding";
}

}  // namespace nddr::dist
