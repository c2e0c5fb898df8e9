#include "nddr/layers/cross_stitch.h"

#include <cmath>

#include "nddr/util/error.h"

namespace nddr {

CrossStitchImpl::CrossStitchImpl(CrossStitchOptions options) : options(std::move(options)) {
  reset();
}

void CrossStitchImpl::reset() {
  const int64_t tasks = options.num_tasks();
  const int64_t channels = options.channels();
  if (tasks < 2) throw Error("CrossStitch: num_tasks must be >= 2, got " + std::to_string(tasks));
  if (channels < 1) {
    throw Error("CrossStitch: channels must be >= 1, got " + std::to_string(channels));
  }
  const std::vector<int64_t> shape = options.per_channel()
                                         ? std::vector<int64_t>{tasks, tasks, channels}
                                         : std::vector<int64_t>{tasks, tasks};
  weight = register_parameter("weight", torch::empty(shape));
  reset_parameters();
}

void CrossStitchImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  const auto tasks = static_cast<double>(options.num_tasks());
  switch (options.init()) {
    case FusionInit::kDiagonal: {
      weight.fill_(options.beta());
      for (int64_t k = 0; k < options.num_tasks(); ++k) weight[k][k].fill_(options.alpha());
      break;
    }
    case FusionInit::kXavier: {
      const double bound = std::sqrt(6.0 / (tasks + tasks));
      weight.uniform_(-bound, bound);
      break;
    }
    case FusionInit::kMsra:
      weight.normal_(0.0, std::sqrt(2.0 / tasks));
      break;
  }
}

std::vector<torch::Tensor> CrossStitchImpl::forward(const std::vector<torch::Tensor>& features) {
  check_fusion_inputs(features, options.num_tasks(), options.channels(), "CrossStitch");
  // [K, K, C] -> [K, K, 1, C, 1, 1] broadcasts over [N, C, H, W]; [K, K] over everything.
  const auto scale =
      options.per_channel()
          ? weight.view({weight.size(0), weight.size(1), 1, options.channels(), 1, 1})
          : weight;
  std::vector<torch::Tensor> outputs;
  for (int64_t k = 0; k < options.num_tasks(); ++k) {
    auto out = features[0] * scale[k][0];
    for (int64_t j = 1; j < options.num_tasks(); ++j) out = out + features[j] * scale[k][j];
    outputs.push_back(out);
  }
  return outputs;
}

}  // namespace nddr
