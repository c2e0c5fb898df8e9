#pragma once
// BatchNorm folding of a whole multi-task network, for inference: every
// convolution followed by a BatchNorm (backbone columns, NDDR layers, the
// shortcut, the heads) absorbs it, and the BatchNorms are removed.

#include "nddr/models/multitask_net.h"

namespace nddr {

/// Folds every BatchNorm of `net` into the convolution before it, in place,
/// and leaves `net` in eval mode. The result computes what `net` computed in
/// eval mode, up to rounding (the folding itself is done in double), and holds
/// no BatchNorm module. Irreversible: the network is then for inference only
/// (training it, or loading an unfolded weights file into it, is wrong).
///
///   net->eval(); fold_batchnorm(*net);  // same outputs, fewer ops
void fold_batchnorm(MultiTaskNetImpl& net);

/// A folded copy of `net` (same options, its current weights and statistics,
/// same device and dtype); `net` itself is unchanged.
MultiTaskNet batchnorm_folded(const MultiTaskNetImpl& net);

/// Number of BatchNorm modules in `module` (0 after fold_batchnorm).
int64_t count_batchnorms(const torch::nn::Module& module);

}  // namespace nddr
