#include "nddr/train/batch_memory.h"

#include <c10/util/ThreadLocalDebugInfo.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "nddr/compat.h"
#include "nddr/util/error.h"
#include "nddr/util/op_observer.h"

namespace nddr {

namespace {

// RecordFunction callbacks are plain function pointers: the tally being
// filled lives here, one measurement at a time.
struct Tally {
  std::mutex measuring;
  std::mutex adding;  // intra-op threads may run callbacks too
  std::unordered_set<const void*> storages;
  std::vector<torch::Tensor> kept;  // no storage is freed and reused mid-pass
  int64_t bytes = 0;
};

Tally& tally() {
  static Tally state;
  return state;
}

void mark_seen(const torch::Tensor& tensor) {
  if (tensor.defined() && tensor.has_storage()) {
    tally().storages.insert(tensor.storage().unsafeGetStorageImpl());
  }
}

void add(const torch::Tensor& tensor) {
  if (!tensor.defined() || !tensor.has_storage()) return;
  const void* storage = tensor.storage().unsafeGetStorageImpl();
  // Views and in-place results share their input's storage: counted once.
  if (!tally().storages.insert(storage).second) return;
  tally().bytes += static_cast<int64_t>(tensor.storage().nbytes());
  tally().kept.push_back(tensor);
}

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction&) { return nullptr; }

void on_end(const at::RecordFunction& fn, at::ObserverContext*) {
  const std::lock_guard<std::mutex> lock(tally().adding);
  for (const auto& output : fn.outputs()) {
    if (output.isTensor()) {
      add(output.toTensor());
    } else if (output.isTensorList()) {
      for (const auto& tensor : output.toTensorVector()) add(tensor);
    }
  }
}

// Restores training mode even when the forward throws.
class EvalModeGuard {
 public:
  explicit EvalModeGuard(torch::nn::Module& net) : net_(net), training_(net.is_training()) {
    net_.eval();
  }
  ~EvalModeGuard() { net_.train(training_); }
  EvalModeGuard(const EvalModeGuard&) = delete;
  EvalModeGuard& operator=(const EvalModeGuard&) = delete;

 private:
  torch::nn::Module& net_;
  bool training_;
};

// Follows the allocator's reports of this thread (each allocation and free
// while the guard holding it is installed) and keeps the highest total.
class PeakMemory final : public c10::MemoryReportingInfoBase {
 public:
  void reportMemoryUsage(void* /*ptr*/, int64_t alloc_size, compat::MemoryReportTotal /*allocated*/,
                         compat::MemoryReportTotal /*reserved*/, c10::Device /*device*/) override {
    const std::lock_guard<std::mutex> lock(mutex_);
    current_ += alloc_size;  // negative for a free
    peak_ = std::max(peak_, current_);
  }
  bool memoryProfilingEnabled() const override { return true; }
  int64_t peak() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return peak_;
  }

 private:
  mutable std::mutex mutex_;
  int64_t current_ = 0;
  int64_t peak_ = 0;
};

// The probe image: a quarter of the side, at least 32 pixels, at most the
// image itself; `scale` turns the probe's bytes into the image's.
struct Probe {
  int64_t height;
  int64_t width;
  double scale;
};

Probe probe_for(int64_t height, int64_t width) {
  constexpr int64_t kMinProbeSide = 32;
  const int64_t probe_height = std::min(height, std::max(kMinProbeSide, height / 4));
  const int64_t probe_width = std::min(width, std::max(kMinProbeSide, width / 4));
  return {probe_height, probe_width,
          static_cast<double>(height * width) / static_cast<double>(probe_height * probe_width)};
}

torch::Device device_of(torch::nn::Module& net) {
  const auto parameters = net.parameters();
  return parameters.empty() ? torch::Device(torch::kCPU) : parameters.front().device();
}

int64_t scaled(int64_t bytes, double scale) {
  return static_cast<int64_t>(std::ceil(static_cast<double>(bytes) * scale));
}

std::string size_text(double bytes) {
  char text[32];
  if (bytes >= 1e9) {
    std::snprintf(text, sizeof(text), "%.1f GB", bytes / 1e9);
  } else {
    std::snprintf(text, sizeof(text), "%.1f MB", bytes / 1e6);
  }
  return text;
}

}  // namespace

int64_t forward_tensor_bytes(torch::nn::Module& net, const std::function<void()>& forward,
                             const torch::Tensor& input) {
  const std::lock_guard<std::mutex> lock(tally().measuring);
  tally().bytes = 0;
  tally().storages.clear();  // a pass that threw left its tally
  tally().kept.clear();
  // Weights and the input are not activations: outputs that view them (a
  // transposed weight, a reshaped input) must not count.
  for (const auto& tensor : net.parameters()) mark_seen(tensor);
  for (const auto& tensor : net.buffers()) mark_seen(tensor);
  mark_seen(input);
  {
    const ScopedOpObserver observer(
        at::RecordFunctionCallback(on_start, on_end).needsOutputs(true));
    forward();
  }
  const int64_t bytes = tally().bytes;
  tally().storages.clear();
  tally().kept.clear();
  return bytes;
}

int64_t activation_bytes_per_image(MultiTaskNetImpl& net, int64_t channels, int64_t height,
                                   int64_t width) {
  const Probe probe = probe_for(height, width);
  const torch::Tensor image =
      torch::zeros({1, channels, probe.height, probe.width}, torch::TensorOptions(device_of(net)));
  torch::NoGradGuard no_grad;
  EvalModeGuard eval(net);
  return scaled(forward_tensor_bytes(
                    net, [&] { net.forward(image); }, image),
                probe.scale);
}

int64_t peak_allocated_bytes(const std::function<void()>& pass) {
  const auto peak = std::make_shared<PeakMemory>();
  {
    const c10::DebugInfoGuard guard(c10::DebugInfoKind::PROFILER_STATE, peak);
    pass();
  }
  return peak->peak();
}

int64_t inference_bytes_per_image(MultiTaskNetImpl& net, int64_t channels, int64_t height,
                                  int64_t width) {
  const Probe probe = probe_for(height, width);
  torch::NoGradGuard no_grad;
  EvalModeGuard eval(net);
  // The batch is made inside the measured pass: the allocator reports its
  // free, and it is memory that evaluation holds too.
  const torch::TensorOptions options(device_of(net));
  const auto pass = [&](int64_t batch) {
    net.forward(torch::zeros({batch, channels, probe.height, probe.width}, options));
  };
  // Batches of two and three: for a single small image LibTorch picks other
  // convolution algorithms (im2col buffers), whose peak is not a batch's.
  pass(2);  // what the first pass allocates once and keeps is not per image
  const int64_t two = peak_allocated_bytes([&] { pass(2); });
  const int64_t three = peak_allocated_bytes([&] { pass(3); });
  return scaled(std::max<int64_t>(0, three - two), probe.scale);
}

int64_t usable_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGESIZE);
  int64_t memory = pages > 0 && page_size > 0 ? static_cast<int64_t>(pages) * page_size : 0;
  // cgroup v2 (containers, systemd slices): "max" or a byte count.
  std::ifstream limit_file("/sys/fs/cgroup/memory.max");
  int64_t limit = 0;
  if (limit_file >> limit && limit > 0) memory = memory > 0 ? std::min(memory, limit) : limit;
  return memory;
}

void check_batch_memory(int64_t batch_size, int64_t per_image, int64_t memory,
                        const std::string& key) {
  if (memory <= 0 || per_image <= 0 || batch_size <= memory / per_image) return;
  throw Error(key + " = " + std::to_string(batch_size) +
              " does not fit in memory: the forward pass alone needs about " +
              size_text(static_cast<double>(per_image)) + " per image (measured at this run's " +
              "image size), " +
              size_text(static_cast<double>(per_image) * static_cast<double>(batch_size)) +
              " for the batch, more than this machine's " + size_text(static_cast<double>(memory)) +
              "; at most " + std::to_string(memory / per_image) + " images fit");
}

}  // namespace nddr
