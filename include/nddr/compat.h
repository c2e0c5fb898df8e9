#pragma once
// Every difference between LibTorch 1.13 (Debian) and 2.x lives here, so the
// rest of the code base is written once. So does every use of LibTorch's
// internal TorchScript tracer API (torch/csrc/jit/frontend/tracer.h), which
// has no stability promise: the same declarations exist in 1.13 and 2.x today.

#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <functional>
#include <string>
#include <vector>

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

}  // namespace nddr::compat
