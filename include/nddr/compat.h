#pragma once
// Every difference between LibTorch 1.13 (Debian) and 2.x lives here, so the
// rest of the code base is written once.

#include <torch/torch.h>
#include <torch/version.h>

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

}  // namespace nddr::compat
