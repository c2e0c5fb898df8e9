#include "device_peaks.h"

#include <fstream>
#include <vector>

#include "nddr/util/strings.h"

#if defined(NDDR_WITH_CUDA)
#include <ATen/cuda/CUDAContext.h>
#endif

namespace nddr::cli {

namespace {

struct Peak {
  const char* name_part;  ///< matched as a substring; more specific names first
  double fp32_tf32;       ///< TF32 tensor cores
  double bf16;
  double fp16;
};

// NVIDIA's data sheets, dense figures (the sparse ones are twice these).
const std::vector<Peak>& peaks() {
  static const std::vector<Peak> table = {
      {"H200", 494.7, 989.4, 989.4},  {"H100 PCIe", 378.0, 756.0, 756.0},
      {"H100", 494.7, 989.4, 989.4},  {"A100", 156.0, 312.0, 312.0},
      {"L40S", 183.0, 366.0, 366.0},  {"L4", 60.0, 121.0, 121.0},
      {"A10", 62.5, 125.0, 125.0},    {"RTX 4090", 82.6, 165.2, 165.2},
      {"RTX 3090", 35.6, 71.0, 71.0},
  };
  return table;
}

std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (starts_with(line, "model name")) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown";
}

}  // namespace

std::string device_name(const torch::Device& device) {
  if (!device.is_cuda()) return cpu_model();
#if defined(NDDR_WITH_CUDA)
  return at::cuda::getDeviceProperties(device.index())->name;
#else
  return "unknown";
#endif
}

std::optional<double> peak_tflops(const std::string& name, Precision precision) {
  for (const auto& peak : peaks()) {
    if (name.find(peak.name_part) == std::string::npos) continue;
    switch (precision) {
      case Precision::kFp32:
        return peak.fp32_tf32;
      case Precision::kBf16:
        return peak.bf16;
      case Precision::kFp16:
        return peak.fp16;
    }
  }
  return std::nullopt;
}

}  // namespace nddr::cli
