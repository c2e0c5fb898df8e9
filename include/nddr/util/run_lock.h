#pragma once
// An exclusive lock on a directory (flock on <dir>/.lock), held while a
// process trains in it: a second process training into the same run
// directory would interleave two runs' logs and checkpoints.

#include <string>

namespace nddr {

class RunLock {
 public:
  /// Locks `dir` (which must exist), or throws an Error naming it when
  /// another process holds the lock. Never waits.
  explicit RunLock(const std::string& dir);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace nddr
