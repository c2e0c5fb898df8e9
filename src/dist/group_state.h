#pragma once
// The c10d objects behind a ProcessGroup, shared with its gradient syncs.

#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>

#include <atomic>
#include <string>

#include "heartbeat.h"
#include "nddr/compat.h"
#include "nddr/dist/process_group.h"

namespace nddr::dist {

struct ProcessGroup::State {
  int64_t rank = 0;
  int64_t world_size = 1;
  std::string backend_name;
  ProcessGroupOptions options;
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<compat::C10dBackend> backend;
  std::unique_ptr<Heartbeat> heartbeat;
  /// Set once a collective failed: later calls fail at once, and the c10d
  /// objects are left to the process exit (their destructors would wait on
  /// work queued behind the failed one).
  std::atomic<bool> failed{false};

  /// Waits for `work`; a failure or timeout becomes fail(what, ...).
  void wait(const c10::intrusive_ptr<c10d::Work>& work, const std::string& what);
  /// Throws the Error for a failed operation `what`, naming the peers whose
  /// heartbeat stopped.
  [[noreturn]] void fail(const std::string& what, const std::string& detail);
  void check_usable(const std::string& what) const;
};

/// The message of a c10d/Gloo exception without LibTorch's backtrace.
std::string c10d_message(const std::exception& error);

}  // namespace nddr::dist
