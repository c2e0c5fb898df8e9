#pragma once

#include <cstdint>

namespace nddr {

/// The largest thread or worker count nddr accepts: a multiple of this
/// machine's cores (more only oversubscribes, and far more exhausts the
/// process's threads or hangs in thread creation).
int64_t max_thread_count();

/// The thread count that "threads: 0" stands for: the environment variable
/// NDDR_THREADS when set (so a test runner or a shared machine can cap every
/// process at once), else all hardware cores. A value that is not a positive
/// integer no larger than max_thread_count() is an Error naming it.
int default_threads();

/// The loader worker count that "data.workers: 0" stands for: half of
/// default_threads() (the other half computes the network), at least 1 and
/// at most 8 (beyond that decoding rarely gets faster; each worker holds
/// batches in memory).
int default_workers();

/// Sets LibTorch's intra-op thread count. Debian's LibTorch starts with one
/// thread; `threads <= 0` means default_threads(). Returns the count in use.
int configure_threads(int threads);

}  // namespace nddr
