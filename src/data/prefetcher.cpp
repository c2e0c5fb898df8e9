#include "prefetcher.h"

#include <algorithm>

namespace nddr::detail {

Prefetcher::Prefetcher(Produce produce, int64_t first, int64_t end, int64_t workers, int64_t depth)
    : produce_(std::move(produce)),
      end_(end),
      // Fewer slots than workers would leave workers idle.
      depth_(std::max(depth, workers)),
      next_claim_(first),
      next_take_(first) {
  TORCH_CHECK(workers >= 0 && depth >= 1, "Prefetcher: workers ", workers, ", depth ", depth);
  threads_.reserve(static_cast<size_t>(workers));
  for (int64_t i = 0; i < workers; ++i) threads_.emplace_back([this] { work(); });
}

Prefetcher::~Prefetcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  claimable_.notify_all();
  for (auto& thread : threads_) thread.join();
}

void Prefetcher::work() {
  // Batches are data, never part of an autograd graph.
  torch::NoGradGuard no_grad;
  while (true) {
    int64_t number;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      claimable_.wait(lock, [this] {
        return stopping_ || (end_ >= 0 && next_claim_ >= end_) || next_claim_ < next_take_ + depth_;
      });
      if (stopping_ || (end_ >= 0 && next_claim_ >= end_)) return;
      number = next_claim_++;
    }
    Slot slot;
    try {
      slot.batch = produce_(number);
    } catch (...) {
      slot.error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ready_[number] = std::move(slot);
    }
    produced_.notify_all();
  }
}

Batch Prefetcher::next() {
  TORCH_CHECK(end_ < 0 || next_take_ < end_, "Prefetcher: batch ", next_take_, " is past the end ",
              end_);
  if (threads_.empty()) {
    torch::NoGradGuard no_grad;
    return produce_(next_take_++);
  }
  Slot slot;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    produced_.wait(lock, [this] { return ready_.count(next_take_) > 0; });
    auto it = ready_.find(next_take_);
    slot = std::move(it->second);
    ready_.erase(it);
    ++next_take_;
  }
  claimable_.notify_all();
  if (slot.error) std::rethrow_exception(slot.error);
  return std::move(slot.batch);
}

}  // namespace nddr::detail
