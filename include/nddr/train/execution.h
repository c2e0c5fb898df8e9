#pragma once
// Where and in which number format the network runs: the device, the
// precision (autocast), the memory format and the cuDNN flags. The trainer,
// the evaluator and the CLI's predict and bench all take their choices from
// here, so every subcommand runs a network the same way.
//
//   ExecutionOptions run = ExecutionOptions().device(resolve_device("auto"))
//                              .precision(Precision::kBf16);
//   place_network(*net, run);
//   { PrecisionScope scope(run); outputs = net->forward(to_device(batch, run).images); }

#include <c10/core/Event.h>
#include <c10/core/Stream.h>
#include <torch/torch.h>

#include <optional>
#include <string>

#include "nddr/compat.h"
#include "nddr/data/dataset.h"

namespace nddr {

/// Number format of the forward and backward pass. Master weights, BatchNorm
/// statistics, losses and metrics are fp32 in every mode.
enum class Precision {
  kFp32,
  kBf16,  ///< autocast to bfloat16 (CUDA and CPU)
  kFp16,  ///< autocast to float16 with dynamic loss scaling (CUDA only)
};

std::string to_string(Precision precision);

struct ExecutionOptions {
  TORCH_ARG(torch::Device, device) = torch::Device(torch::kCPU);
  TORCH_ARG(Precision, precision) = Precision::kFp32;
  /// 4-d weights and input images in channels_last (NHWC) memory format.
  TORCH_ARG(bool, channels_last) = false;
  /// cuDNN autotuning: picks the fastest convolution algorithm per shape.
  TORCH_ARG(bool, cudnn_benchmark) = true;
  /// Deterministic cuDNN algorithms only (and no autotuning).
  TORCH_ARG(bool, deterministic) = false;
};

/// "auto" (cuda:0 when CUDA is available, else cpu), "cpu", "cuda" or
/// "cuda:N". On a rank of a distributed job auto and cuda mean
/// cuda:<local rank> (rank_device.h). A malformed or unavailable device is an
/// Error naming `key`.
torch::Device resolve_device(const std::string& value, const std::string& key = "device");

/// "fp32", "bf16" or "fp16"; anything else is an Error naming `key`.
Precision parse_precision(const std::string& value, const std::string& key = "precision");

/// Error naming `key` when `precision` cannot run on `device` (fp16 on the CPU).
void check_precision(Precision precision, const torch::Device& device,
                     const std::string& key = "precision");

/// The dtype autocast runs in: nullopt for fp32.
std::optional<at::ScalarType> autocast_dtype(Precision precision);

/// The forward pass runs inside one: autocast on the device for bf16 and
/// fp16, nothing for fp32. Losses and metrics go outside it (in fp32).
class PrecisionScope {
 public:
  explicit PrecisionScope(const ExecutionOptions& options);

 private:
  std::optional<compat::AutocastGuard> autocast_;
};

/// Moves parameters and buffers to the device (in place, so optimizers built
/// before or after see the same tensors) and, with channels_last, 4-d
/// parameters to channels_last.
void place_network(torch::nn::Module& net, const ExecutionOptions& options);

/// Images and targets on the device, images in the memory format asked for.
/// `non_blocking` lets host-to-CUDA copies from pinned memory run
/// asynchronously.
Batch to_device(const Batch& batch, const ExecutionOptions& options, bool non_blocking = false);

/// Copies host batches to the device one step ahead: on CUDA the copy runs
/// on a side stream (from pinned memory, non-blocking), so the next batch
/// travels while the current step computes. On the CPU it only converts the
/// memory format.
///
///   DeviceFeed feed(options);
///   feed.put(loader.next());
///   Batch current = feed.take();      // ready on the compute stream
///   feed.put(loader.next());          // starts the next copy
///   step(current);
class DeviceFeed {
 public:
  explicit DeviceFeed(ExecutionOptions options);
  /// Starts moving `host` to the device; the previous put must have been taken.
  void put(const Batch& host);
  /// The batch of the last put, safe to use on the device's current stream.
  Batch take();

 private:
  ExecutionOptions options_;
  std::optional<c10::Stream> copy_stream_;
  std::optional<c10::Event> copied_;
  std::optional<Batch> pending_;
};

/// Sets the process-wide cuDNN flags from `options` (no effect on the CPU).
void configure_backends(const ExecutionOptions& options);

/// Waits until the device has finished its queued work (timing on CUDA).
void synchronize(const torch::Device& device);

/// The device of a module's first parameter (or buffer); CPU when it has none.
torch::Device device_of(const torch::nn::Module& net);

}  // namespace nddr
