#pragma once
// How much each NDDR layer draws on each task's features: for layer i and
// target task k, the Frobenius norm of block j of conv.<k>.weight (the part
// reading task j's channels), each output row scaled by the BatchNorm gain
// |gamma| / sqrt(running_var + eps) that follows it when the layer has BN.
//
//   auto weights = load_safetensors("runs/x/weights.safetensors").tensors;
//   FusionAnalysis a = analyze_fusion(weights, {"seg", "normals"});
//   a.norms[0][1][0];  // layer 0, target normals, source seg

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "nddr/report/plot.h"
#include "nddr/report/table.h"

namespace nddr {

struct FusionAnalysis {
  std::vector<std::string> tasks;
  std::vector<std::string> layers;  ///< "fusion.<i>", in i order
  /// [layer][target task][source task]: scaled block norm.
  std::vector<std::vector<std::vector<double>>> norms;

  /// norms[l][k][j] / sum over j of norms[l][k][*].
  double share(size_t layer, size_t target, size_t source) const;
};

/// Reads every "fusion.<i>.conv.<k>.weight" ([C, K*C, 1, 1], K = tasks.size())
/// of a network's tensors, with "fusion.<i>.bn.<k>.{weight,running_var}" when
/// present. No NDDR layer, or a weight of the wrong shape, is an Error naming
/// the tensor.
FusionAnalysis analyze_fusion(const std::map<std::string, torch::Tensor>& tensors,
                              const std::vector<std::string>& tasks, double bn_eps = 1e-3);

/// Rows "fusion.<i> -> <target>", per source task its norm and share (%).
Table fusion_table(const FusionAnalysis& analysis);

/// Shares (%) with rows = layer/target task, columns = source task.
Heatmap fusion_heatmap(const FusionAnalysis& analysis, const std::string& title);

}  // namespace nddr
