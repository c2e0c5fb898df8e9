#pragma once
// Peak dense throughput of known devices, for `nddr bench`'s MFU (model
// FLOP utilisation: achieved FLOP/s over the device's peak at the precision
// the step runs in). The figures are the vendors' published dense (no
// sparsity) tensor-core peaks; --peak-tflops overrides them.

#include <optional>
#include <string>

#include "nddr/train/execution.h"

namespace nddr::cli {

/// A readable name: the GPU's name for CUDA devices, lscpu's model name for
/// the CPU ("unknown" when neither can be read).
std::string device_name(const torch::Device& device);

/// The peak TFLOP/s of the device named `name` at `precision` (fp32 means
/// TF32 tensor cores on GPUs, what cuDNN uses for fp32 convolutions by
/// default), or nullopt when the table does not know the device.
std::optional<double> peak_tflops(const std::string& name, Precision precision);

}  // namespace nddr::cli
