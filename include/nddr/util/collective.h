#pragma once
// What training and evaluation ask of a group of cooperating processes: sums,
// broadcasts and an overlapped gradient average. The library's modules see
// only this interface; nddr/dist/process_group.h implements it with c10d, and
// a single process simply has none (a null pointer), so every call site keeps
// its single-process path unchanged.

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace nddr {

/// Timing of one overlapped gradient average (seconds, steady clock).
struct GradientSyncStats {
  int64_t buckets = 0;
  /// Buckets whose all-reduce started before the backward pass returned.
  int64_t launched_during_backward = 0;
  /// From the end of the backward pass until every bucket was reduced: the
  /// part of the communication that the backward pass did not hide.
  double exposed_seconds = 0.0;
};

/// Averages the gradients of a fixed parameter list across ranks: begin()
/// before the backward pass, finish() after it. In between, each gradient is
/// copied into a bucket as autograd produces it, and a bucket is all-reduced
/// asynchronously as soon as it is full, while the rest of the backward pass
/// runs.
class GradientSync {
 public:
  virtual ~GradientSync() = default;
  virtual void begin() = 0;
  /// Waits for every bucket and writes the averages into the parameters'
  /// .grad(). `step` only labels errors.
  virtual GradientSyncStats finish(int64_t step) = 0;
};

/// A fixed set of ranks that run the same program. Every call is collective:
/// every rank must make it, in the same order. `what` names the operation in
/// the Error thrown when a peer fails or the group's timeout passes.
class Collective {
 public:
  virtual ~Collective() = default;
  virtual int64_t rank() const = 0;
  virtual int64_t world_size() const = 0;
  /// In-place elementwise sum over ranks; the result is the same on every rank.
  virtual void all_reduce_sum(torch::Tensor& tensor, const std::string& what) = 0;
  /// In place: every rank receives `root`'s tensor.
  virtual void broadcast(torch::Tensor& tensor, int64_t root, const std::string& what) = 0;
  virtual void barrier(const std::string& what) = 0;
  /// A bucketed, backward-overlapped averager of `parameters`' gradients.
  virtual std::unique_ptr<GradientSync> gradient_sync(std::vector<torch::Tensor> parameters) = 0;
};

}  // namespace nddr
