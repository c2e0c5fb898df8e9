#include "nddr/models/flops.h"

#include <torch/torch.h>

#include <atomic>
#include <mutex>
#include <set>

#include "nddr/util/op_observer.h"

namespace nddr {

namespace {

// RecordFunction callbacks are plain function pointers, so the count being
// filled lives here; the mutex lets one count run at a time.
struct CounterState {
  std::mutex mutex;
  FlopCount* count = nullptr;
  // Depth of counted ops in progress: nested ones (conv2d's own convolution
  // call) must not count again. Atomic because intra-op worker threads may
  // inherit the callback.
  std::atomic<int> depth{0};
};

CounterState& counter() {
  static CounterState state;
  return state;
}

bool is_convolution(const std::string& name) {
  static const std::set<std::string> names = {
      "aten::conv1d",           "aten::conv2d",           "aten::conv3d",
      "aten::convolution",      "aten::_convolution",     "aten::conv_transpose1d",
      "aten::conv_transpose2d", "aten::conv_transpose3d", "aten::mkldnn_convolution",
      "aten::cudnn_convolution"};
  return names.count(name) > 0;
}

// Contraction length per output element of a matrix product, by the index
// of the left operand and the dimension contracted.
bool is_matrix_product(const std::string& name, size_t* left, int64_t* dim) {
  static const std::map<std::string, std::pair<size_t, int64_t>> ops = {
      {"aten::linear", {1, -1}}, {"aten::addmm", {1, 1}}, {"aten::mm", {0, 1}},
      {"aten::matmul", {0, -1}}, {"aten::bmm", {0, 2}},   {"aten::baddbmm", {1, 2}}};
  auto it = ops.find(name);
  if (it == ops.end()) return false;
  *left = it->second.first;
  *dim = it->second.second;
  return true;
}

struct OpContext : at::ObserverContext {
  bool counted = false;  // outermost counted op: add its MACs at the end
  std::string name;
  int64_t fixed_macs = -1;  // known from the inputs alone (transposed convolution)
  int64_t per_output = 0;   // else MACs per output element
};

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
  const std::string name = fn.name();
  size_t left = 0;
  int64_t dim = 0;
  const bool conv = is_convolution(name);
  if (!conv && !is_matrix_product(name, &left, &dim)) return nullptr;
  auto context = std::make_unique<OpContext>();
  if (counter().depth.fetch_add(1) > 0) return context;
  const auto inputs = fn.inputs();
  context->counted = true;
  context->name = name;
  if (conv) {
    TORCH_CHECK(inputs.size() >= 2 && inputs[1].isTensor(), name, ": no weight input");
    const auto& weight = inputs[1].toTensor();
    const int64_t per_weight_row = weight.numel() / weight.size(0);
    const bool transposed = name.find("transpose") != std::string::npos ||
                            ((name == "aten::convolution" || name == "aten::_convolution") &&
                             inputs.size() > 6 && inputs[6].isBool() && inputs[6].toBool());
    // A transposed conv spreads every input element over weight.size(1)*kernel outputs.
    if (transposed) {
      context->fixed_macs = inputs[0].toTensor().numel() * per_weight_row;
    } else {
      context->per_output = per_weight_row;
    }
  } else {
    TORCH_CHECK(inputs.size() > left && inputs[left].isTensor(), name, ": no matrix input");
    context->per_output = inputs[left].toTensor().size(dim);
  }
  return context;
}

void on_end(const at::RecordFunction& fn, at::ObserverContext* base) {
  auto* context = static_cast<OpContext*>(base);
  if (context == nullptr) return;
  counter().depth.fetch_sub(1);
  if (!context->counted) return;
  int64_t macs = context->fixed_macs;
  if (macs < 0) {
    const auto& outputs = fn.outputs();
    TORCH_CHECK(!outputs.empty() && outputs[0].isTensor(), context->name, ": no tensor output");
    macs = outputs[0].toTensor().numel() * context->per_output;
  }
  counter().count->macs += macs;
  counter().count->macs_by_op[context->name] += macs;
}

}  // namespace

FlopCount count_forward_flops(const std::function<void()>& forward) {
  std::lock_guard<std::mutex> lock(counter().mutex);
  FlopCount count;
  counter().count = &count;
  counter().depth = 0;
  {
    torch::NoGradGuard no_grad;
    const ScopedOpObserver observer(
        at::RecordFunctionCallback(on_start, on_end).needsInputs(true).needsOutputs(true));
    forward();
  }
  counter().count = nullptr;
  return count;
}

}  // namespace nddr
