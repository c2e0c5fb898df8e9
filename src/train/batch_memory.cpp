#include "nddr/train/batch_memory.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <mutex>
#include <unordered_set>
#include <vector>

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
  constexpr int64_t kMinProbeSide = 32;
  const int64_t probe_height = std::min(height, std::max(kMinProbeSide, height / 4));
  const int64_t probe_width = std::min(width, std::max(kMinProbeSide, width / 4));
  const auto device =
      net.parameters().empty() ? torch::Device(torch::kCPU) : net.parameters().front().device();
  const torch::Tensor probe =
      torch::zeros({1, channels, probe_height, probe_width}, torch::TensorOptions(device));
  torch::NoGradGuard no_grad;
  EvalModeGuard eval(net);
  const int64_t probe_bytes = forward_tensor_bytes(
      net, [&] { net.forward(probe); }, probe);
  const double scale = static_cast<double>(height * width) / (probe_height * probe_width);
  return static_cast<int64_t>(std::ceil(static_cast<double>(probe_bytes) * scale));
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
