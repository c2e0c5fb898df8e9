#pragma once

namespace nddr {

/// Sets LibTorch's intra-op thread count. Debian's LibTorch starts with one
/// thread; `threads <= 0` means all hardware cores. Returns the count in use.
int configure_threads(int threads);

}  // namespace nddr
