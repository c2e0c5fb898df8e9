#pragma once
// Every difference between LibTorch 1.13 (Debian) and 2.x lives here, so the
// rest of the code base is written once.

#include <torch/torch.h>
#include <torch/version.h>

namespace c10d {
class Backend;
class ProcessGroup;
}  // namespace c10d

namespace nddr::compat {

constexpr bool kTorch2 = TORCH_VERSION_MAJOR >= 2;

/// Read-only data pointer: 2.x has const_data_ptr, 1.13 only data_ptr.
template <typename T>
const T* const_data(const torch::Tensor& tensor) {
#if TORCH_VERSION_MAJOR >= 2
  return tensor.const_data_ptr<T>();
#else
  return tensor.data_ptr<T>();
#endif
}

// c10d (distributed): 2.x moved the collectives of ProcessGroupGloo and
// ProcessGroupNCCL to the c10d::Backend base class; in 1.13 they derive from
// c10d::ProcessGroup. The rest of the c10d API nddr uses (TCPStore,
// TCPStoreOptions, ProcessGroupGloo::Options/createDeviceForHostname, Work,
// AllreduceOptions) is spelled the same in both.
#if TORCH_VERSION_MAJOR >= 2
using C10dBackend = c10d::Backend;
#else
using C10dBackend = c10d::ProcessGroup;
#endif

}  // namespace nddr::compat
