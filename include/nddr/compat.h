#pragma once
// Every difference between LibTorch 1.13 (Debian) and 2.x lives here, so the
// rest of the code base is written once. So does every use of LibTorch's
// internal TorchScript tracer API (torch/csrc/jit/frontend/tracer.h), which
// has no stability promise: the same declarations exist in 1.13 and 2.x today.

#include <ATen/autocast_mode.h>
#include <c10/core/Allocator.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

// Only LibTorch builds with CUDA ship libc10_cuda; CMake defines this when the
// found LibTorch has it (the Debian 1.13 package does not).
#if defined(NDDR_WITH_CUDA)
#include <c10/cuda/CUDACachingAllocator.h>
#endif

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

/// While the C++ tracer records, makes the next traced op's list argument
/// named `argument` (its schema name) hold `reference`'s sizes at `dims` as
/// traced aten::size values. C++ `Tensor::size()` returns a plain integer
/// that the tracer would bake in as a constant; Python's tracer avoids that
/// through this same argument stash. Outside tracing it does nothing.
inline void trace_sizes_as_argument(const torch::Tensor& reference,
                                    const std::vector<int64_t>& dims, const std::string& argument) {
  namespace tracer = torch::jit::tracer;
  if (!tracer::isTracing()) return;
  for (size_t i = 0; i < dims.size(); ++i) {
    tracer::ArgumentStash::stashIntArrayRefElem(argument, dims.size(), i,
                                                tracer::getSizeOf(reference, dims[i]));
  }
}

/// Traces `function` on `example` with LibTorch's C++ tracer and returns a
/// TorchScript module named `class_name` whose forward(images) runs the
/// recorded graph and returns the outputs as one tuple. Tensors the function
/// reads other than its input (weights) become constants of the graph, so
/// they must not require grad. The module is in eval mode.
inline torch::jit::Module trace_module(
    const std::string& class_name, const torch::Tensor& example,
    const std::function<std::vector<torch::Tensor>(const torch::Tensor&)>& function) {
  namespace tracer = torch::jit::tracer;
  auto traced = tracer::trace(
      {example},
      [&](torch::jit::Stack inputs) -> torch::jit::Stack {
        const std::vector<torch::Tensor> outputs = function(inputs.at(0).toTensor());
        std::vector<c10::IValue> elements(outputs.begin(), outputs.end());
        return {c10::ivalue::Tuple::create(std::move(elements))};
      },
      [](const torch::autograd::Variable&) { return std::string(); },
      /*strict=*/true);
  std::shared_ptr<torch::jit::Graph> graph = traced.first->graph;

  auto unit = std::make_shared<torch::jit::CompilationUnit>();
  torch::jit::Module module(c10::QualifiedName(class_name), unit);
  module.register_attribute("training", c10::BoolType::get(), false);
  graph->insertInput(0, "self")->setType(module.type());
  module.type()->addMethod(
      unit->create_function(c10::QualifiedName(*module.type()->name(), "forward"), graph));
  return module;
}

/// Autocast for one device type while in scope (the C++ side of
/// torch.autocast): 2.x keys the state by device type, 1.13 has one set of
/// functions per device. Restores the previous state; the outermost guard
/// clears the cast-weight cache, as torch.autocast's exit does.
class AutocastGuard {
 public:
  AutocastGuard(c10::DeviceType device_type, at::ScalarType dtype) : device_type_(device_type) {
#if TORCH_VERSION_MAJOR >= 2
    previous_enabled_ = at::autocast::is_autocast_enabled(device_type);
    previous_dtype_ = at::autocast::get_autocast_dtype(device_type);
    at::autocast::set_autocast_enabled(device_type, true);
    at::autocast::set_autocast_dtype(device_type, dtype);
#else
    TORCH_CHECK(device_type == c10::DeviceType::CPU || device_type == c10::DeviceType::CUDA,
                "AutocastGuard: no autocast for device type ", device_type);
    const bool cuda = device_type == c10::DeviceType::CUDA;
    previous_enabled_ = cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
    previous_dtype_ =
        cuda ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
    if (cuda) {
      at::autocast::set_enabled(true);
      at::autocast::set_autocast_gpu_dtype(dtype);
    } else {
      at::autocast::set_cpu_enabled(true);
      at::autocast::set_autocast_cpu_dtype(dtype);
    }
#endif
    at::autocast::increment_nesting();
  }

  ~AutocastGuard() {
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if TORCH_VERSION_MAJOR >= 2
    at::autocast::set_autocast_enabled(device_type_, previous_enabled_);
    at::autocast::set_autocast_dtype(device_type_, previous_dtype_);
#else
    if (device_type_ == c10::DeviceType::CUDA) {
      at::autocast::set_enabled(previous_enabled_);
      at::autocast::set_autocast_gpu_dtype(previous_dtype_);
    } else {
      at::autocast::set_cpu_enabled(previous_enabled_);
      at::autocast::set_autocast_cpu_dtype(previous_dtype_);
    }
#endif
  }

  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  c10::DeviceType device_type_;
  bool previous_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kFloat;
};

/// True when this LibTorch was built with CUDA support (whether or not a GPU
/// is present).
constexpr bool kWithCuda =
#if defined(NDDR_WITH_CUDA)
    true;
#else
    false;
#endif

/// Peak bytes the caching allocator has handed out on CUDA device `index`
/// since the last reset_peak_device_memory; -1 where this build has no CUDA.
inline int64_t peak_device_memory(c10::DeviceIndex index) {
#if defined(NDDR_WITH_CUDA)
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(index);
  return stats.allocated_bytes[0].peak;  // [0]: the aggregate over pool kinds
#else
  (void)index;
  return -1;
#endif
}

inline void reset_peak_device_memory(c10::DeviceIndex index) {
#if defined(NDDR_WITH_CUDA)
  c10::cuda::CUDACachingAllocator::resetPeakStats(index);
#else
  (void)index;
#endif
}

// The allocators' memory reports (c10::MemoryReportingInfoBase, the hook
// LibTorch's memory profiler uses) carry the running totals as int64_t in
// 1.13 and as size_t in 2.x. The type is read from the declaration itself,
// so no version number has to be guessed.
namespace detail {
template <typename>
struct ThirdParameter;
template <typename Class, typename Result, typename First, typename Second, typename Third,
          typename... Rest>
struct ThirdParameter<Result (Class::*)(First, Second, Third, Rest...)> {
  using type = Third;
};
}  // namespace detail
using MemoryReportTotal =
    detail::ThirdParameter<decltype(&c10::MemoryReportingInfoBase::reportMemoryUsage)>::type;

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
