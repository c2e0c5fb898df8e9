#include "nddr/layers/stage_mixing.h"

#include <sstream>

#include "nddr/layers/resize.h"
#include "nddr/util/error.h"

namespace nddr {
namespace {

void check_stage_inputs(const std::vector<torch::Tensor>& stages, int64_t num_stages) {
  auto describe = [&] {
    std::ostringstream out;
    for (size_t l = 0; l < stages.size(); ++l) {
      out << (l ? ", " : "") << "stage " << l << ": " << stages[l].sizes();
    }
    return out.str();
  };
  if (static_cast<int64_t>(stages.size()) != num_stages) {
    throw Error("StageMixing expects " + std::to_string(num_stages) + " stage maps, got " +
                std::to_string(stages.size()) + " (" + describe() + ")");
  }
  for (const auto& stage : stages) {
    if (stage.dim() != 4 || stage.size(0) != stages.front().size(0)) {
      throw Error("StageMixing expects maps [N,C_l,H_l,W_l] with one batch size N; got " +
                  describe());
    }
  }
}

}  // namespace

StageMixingImpl::StageMixingImpl(StageMixingOptions options) : options(std::move(options)) {
  reset();
}

void StageMixingImpl::reset() {
  if (options.num_stages() < 1) {
    throw Error("StageMixing: num_stages must be >= 1, got " +
                std::to_string(options.num_stages()));
  }
  beta = register_parameter("beta", torch::empty({options.num_stages()}));
  reset_parameters();
}

void StageMixingImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  beta.fill_(1.0);
}

torch::Tensor StageMixingImpl::forward(const std::vector<torch::Tensor>& stages) {
  check_stage_inputs(stages, options.num_stages());
  std::vector<torch::Tensor> scaled = resize_to_last_stage(stages, options.align_corners());
  // Scaling after the resize: later stages are smaller, so this touches fewer values.
  for (size_t l = 0; l < scaled.size(); ++l) scaled[l] = scaled[l] * beta[l];
  return torch::cat(scaled, 1);
}

}  // namespace nddr
