#pragma once
// A fusion layer takes one feature map per task (same shape each) and returns
// one per task: NDDR, cross-stitch and sluice units all have this interface.

#include <torch/torch.h>

#include <vector>

namespace nddr {

/// Initialisation of a fusion layer's mixing weights.
enum class FusionInit {
  kDiagonal,  ///< own task alpha, every other task beta (paper default 0.9 / 0.1)
  kXavier,    ///< Xavier/Glorot uniform
  kMsra,      ///< He/MSRA normal (fan-in)
};

/// "diagonal", "xavier", "msra" -> FusionInit; unknown names are Errors.
FusionInit parse_fusion_init(const std::string& name);

/// Checks that `features` has `num_tasks` tensors of identical shape [N,C,H,W]
/// with C == `channels`; throws an Error naming every shape otherwise.
void check_fusion_inputs(const std::vector<torch::Tensor>& features, int64_t num_tasks,
                         int64_t channels, const char* layer_name);

}  // namespace nddr
