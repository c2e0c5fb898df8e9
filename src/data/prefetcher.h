#pragma once
// Worker threads that produce numbered batches ahead of a single consumer.

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "nddr/data/dataset.h"

namespace nddr::detail {

class Prefetcher {
 public:
  /// Produces the batch with a given number; called concurrently by workers.
  using Produce = std::function<Batch(int64_t)>;

  /// Batches first, first + 1, ... up to end (exclusive; end < 0: endless),
  /// with at most `depth` of them loaded or loading ahead of the consumer.
  /// `workers` == 0 produces each batch inside next().
  Prefetcher(Produce produce, int64_t first, int64_t end, int64_t workers, int64_t depth);
  /// Stops the workers, letting each finish the batch it is on.
  ~Prefetcher();
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  /// The next batch in order; rethrows the exception its production threw.
  Batch next();

 private:
  struct Slot {
    Batch batch;
    std::exception_ptr error;
  };

  void work();

  Produce produce_;
  int64_t end_;
  int64_t depth_;
  int64_t next_claim_;  // the lowest batch no worker has started
  int64_t next_take_;   // the batch next() returns
  std::map<int64_t, Slot> ready_;
  bool stopping_ = false;
  std::mutex mutex_;
  std::condition_variable claimable_;
  std::condition_variable produced_;
  std::vector<std::thread> threads_;
};

}  // namespace nddr::detail
