#include "nddr/models/fold_batchnorm.h"

#include "nddr/layers/batchnorm_folding.h"

namespace nddr {

void fold_batchnorm(MultiTaskNetImpl& net) {
  net.eval();
  // modules() is collected up front: folding replaces children of the module
  // it visits, never a module still to be visited.
  for (const auto& module : net.modules(/*include_self=*/false)) {
    if (auto* foldable = dynamic_cast<FoldsBatchNorm*>(module.get())) foldable->fold_batchnorm();
  }
  TORCH_CHECK(count_batchnorms(net) == 0, "fold_batchnorm: ", count_batchnorms(net),
              " BatchNorm module(s) belong to modules that cannot fold them");
}

MultiTaskNet batchnorm_folded(const MultiTaskNetImpl& net) {
  MultiTaskNet copy(net.options());
  const auto parameters = net.named_parameters();
  const auto buffers = net.named_buffers();
  if (!parameters.is_empty()) {
    const torch::Tensor& first = parameters[0].value();
    copy->to(first.device(), first.scalar_type());
  }
  {
    torch::NoGradGuard no_grad;
    for (auto& parameter : copy->named_parameters()) {
      parameter.value().copy_(parameters[parameter.key()]);
    }
    for (auto& buffer : copy->named_buffers()) buffer.value().copy_(buffers[buffer.key()]);
  }
  fold_batchnorm(*copy);
  return copy;
}

int64_t count_batchnorms(const torch::nn::Module& module) {
  int64_t count = 0;
  for (const auto& child : module.modules(/*include_self=*/true)) {
    if (child->as<torch::nn::BatchNorm2dImpl>() != nullptr) ++count;
  }
  return count;
}

}  // namespace nddr
