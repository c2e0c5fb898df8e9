#pragma once
// Multiply-accumulate counts of a real forward pass, measured by observing the
// ATen operators it runs (so every layer type and fusion method is covered
// without a per-layer formula).

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace nddr {

/// Multiply-accumulates (MACs; FLOPs are about twice this) of convolutions and
/// matrix products. Elementwise ops, pooling, BN and resizing are not counted.
struct FlopCount {
  int64_t macs = 0;
  /// By outermost counted ATen op, e.g. "aten::conv2d", "aten::linear".
  std::map<std::string, int64_t> macs_by_op;
};

/// Runs `forward` once without autograd on this thread and counts the MACs of
/// every aten convolution, linear, (b)mm, addmm and matmul it calls; an op
/// called inside another counted op (conv2d -> convolution -> mkldnn) counts
/// once. Counts are shape-based, so they are exact for any backend. Calls are
/// serialised; `forward` must not call count_forward_flops itself.
///
///   auto count = count_forward_flops([&] { net->forward(images); });
FlopCount count_forward_flops(const std::function<void()>& forward);

}  // namespace nddr
