#include "nddr/train/execution.h"

#include <c10/core/StreamGuard.h>
#include <c10/core/impl/VirtualGuardImpl.h>

#include <cctype>

#include "nddr/train/rank_device.h"
#include "nddr/util/error.h"
#include "nddr/util/strings.h"

namespace nddr {

namespace {

bool all_digits(const std::string& text) {
  if (text.empty()) return false;
  for (const char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string cuda_absence() {
  return compat::kWithCuda ? "CUDA is not available (no GPU or no driver found)"
                           : "this build of LibTorch has no CUDA";
}

}  // namespace

std::string to_string(Precision precision) {
  switch (precision) {
    case Precision::kFp32:
      return "fp32";
    case Precision::kBf16:
      return "bf16";
    case Precision::kFp16:
      return "fp16";
  }
  return "?";
}

torch::Device resolve_device(const std::string& value, const std::string& key) {
  const std::string valid = "; valid: auto, cpu, cuda, cuda:N";
  if (value == "cpu") return torch::Device(torch::kCPU);
  if (value == "auto" || value == "cuda") {
    // A rank of a distributed job takes the GPU of its local rank (0 alone).
    const int64_t gpus =
        torch::cuda::is_available() ? static_cast<int64_t>(torch::cuda::device_count()) : 0;
    const std::string mapped = device_for_local_rank(value, process_local_rank(), gpus, key);
    if (mapped == "cpu") return torch::Device(torch::kCPU);
    if (mapped != value) {
      return torch::Device(torch::kCUDA,
                           static_cast<c10::DeviceIndex>(std::stoll(mapped.substr(5))));
    }
  }
  const bool cuda = value == "cuda";
  const bool indexed = starts_with(value, "cuda:") && all_digits(value.substr(5));
  if (!cuda && !indexed) throw Error(key + ": unknown device '" + value + "'" + valid);
  if (!torch::cuda::is_available()) {
    throw Error(key + ": device '" + value + "' asked for, but " + cuda_absence() +
                "; use auto or cpu");
  }
  const int64_t index = cuda ? 0 : std::stoll(value.substr(5));
  const auto count = static_cast<int64_t>(torch::cuda::device_count());
  if (index >= count) {
    throw Error(key + ": device '" + value + "' asked for, but this machine has " +
                std::to_string(count) +
                " CUDA device(s) (cuda:0 to cuda:" + std::to_string(count - 1) + ")");
  }
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

Precision parse_precision(const std::string& value, const std::string& key) {
  if (value == "fp32") return Precision::kFp32;
  if (value == "bf16") return Precision::kBf16;
  if (value == "fp16") return Precision::kFp16;
  throw Error(key + ": unknown precision '" + value + "'; valid: fp32, bf16, fp16");
}

void check_precision(Precision precision, const torch::Device& device, const std::string& key) {
  // CPU autocast knows only bfloat16, and fp16 on the CPU has no fast kernels.
  if (precision == Precision::kFp16 && !device.is_cuda()) {
    throw Error(key + ": fp16 needs a CUDA device, but the device is " + device.str() +
                "; use bf16 or fp32 on the CPU");
  }
}

std::optional<at::ScalarType> autocast_dtype(Precision precision) {
  switch (precision) {
    case Precision::kFp32:
      return std::nullopt;
    case Precision::kBf16:
      return at::kBFloat16;
    case Precision::kFp16:
      return at::kHalf;
  }
  return std::nullopt;
}

PrecisionScope::PrecisionScope(const ExecutionOptions& options) {
  if (const auto dtype = autocast_dtype(options.precision())) {
    autocast_.emplace(options.device().type(), *dtype);
  }
}

void place_network(torch::nn::Module& net, const ExecutionOptions& options) {
  net.to(options.device());
  if (!options.channels_last()) return;
  torch::NoGradGuard no_grad;
  for (auto& parameter : net.parameters()) {
    if (parameter.dim() == 4) {
      parameter.set_data(parameter.data().contiguous(torch::MemoryFormat::ChannelsLast));
    }
  }
}

Batch to_device(const Batch& batch, const ExecutionOptions& options, bool non_blocking) {
  Batch moved;
  const auto format =
      options.channels_last() ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
  moved.images = batch.images.to(options.device(), non_blocking).contiguous(format);
  for (const auto& [name, target] : batch.targets) {
    moved.targets[name] = target.to(options.device(), non_blocking);
  }
  return moved;
}

DeviceFeed::DeviceFeed(ExecutionOptions options) : options_(std::move(options)) {
  if (options_.device().is_cuda()) {
    const c10::impl::VirtualGuardImpl guard(options_.device().type());
    copy_stream_ = guard.getStreamFromGlobalPool(options_.device());
    copied_.emplace(options_.device().type());
  }
}

void DeviceFeed::put(const Batch& host) {
  TORCH_CHECK(!pending_, "DeviceFeed::put: the previous batch was not taken");
  if (!copy_stream_) {
    pending_ = to_device(host, options_);
    return;
  }
  const c10::StreamGuard on_copy_stream(*copy_stream_);
  pending_ = to_device(host, options_, /*non_blocking=*/true);
  copied_->record(*copy_stream_);
}

Batch DeviceFeed::take() {
  TORCH_CHECK(pending_, "DeviceFeed::take: nothing was put");
  Batch batch = std::move(*pending_);
  pending_.reset();
  if (copy_stream_) {
    const c10::impl::VirtualGuardImpl guard(options_.device().type());
    const c10::Stream compute = guard.getStream(options_.device());
    copied_->block(compute);
    // The memory was allocated on the copy stream: tell the caching allocator
    // the compute stream uses it too, so it is not reused while in use there.
    batch.images.record_stream(compute);
    for (auto& item : batch.targets) item.second.record_stream(compute);
  }
  return batch;
}

void configure_backends(const ExecutionOptions& options) {
  if (!options.device().is_cuda()) return;
  at::globalContext().setBenchmarkCuDNN(options.cudnn_benchmark() && !options.deterministic());
  at::globalContext().setDeterministicCuDNN(options.deterministic());
}

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

torch::Device device_of(const torch::nn::Module& net) {
  for (const auto& parameter : net.parameters()) return parameter.device();
  for (const auto& buffer : net.buffers()) return buffer.device();
  return torch::Device(torch::kCPU);
}

}  // namespace nddr
