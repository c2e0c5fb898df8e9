#pragma once
// The overlapped gradient average behind ProcessGroup::gradient_sync.
//
// Parameters are packed into buckets in the order the backward pass produces
// their gradients: for the first step in reverse registration order, from
// then on in the order their gradients arrived in the first step (rank 0's,
// broadcast, as DDP rebuilds its buckets). Registration order is not backward
// order in a multi-column network: a bucket holding a column's last and first
// stages completes only at the end of the backward pass and holds back every
// bucket after it. A hook on each parameter copies its gradient, already
// divided by the world size, into its bucket's flat buffer; when a bucket is
// complete it is all-reduced asynchronously while autograd goes on with the
// earlier layers. Buckets are launched strictly in order, so that every rank
// issues the same sequence of collectives whatever order its hooks fire in.

#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "group_state.h"
#include "nddr/util/collective.h"

namespace nddr::dist {

class GradientBuckets : public GradientSync {
 public:
  GradientBuckets(std::shared_ptr<ProcessGroup::State> state,
                  std::vector<torch::Tensor> parameters);
  ~GradientBuckets() override;

  void begin() override;
  GradientSyncStats finish(int64_t step) override;

 private:
  struct Bucket {
    torch::Tensor buffer;
    std::vector<size_t> parameters;
    std::vector<int64_t> offsets;
    size_t pending = 0;
    c10::intrusive_ptr<c10d::Work> work;
  };

  /// Buckets of the parameters in `order` (those with requires_grad): the
  /// first at most 1 MiB so that communication starts early, the others up to
  /// dist.bucket_mb, each of one dtype and device.
  void build_buckets(const std::vector<size_t>& order);
  /// Rebuilds the buckets in the first step's arrival order (rank 0's).
  void rebuild_in_arrival_order(const std::string& what);
  void on_gradient(size_t parameter, const torch::Tensor& gradient);
  /// Launches every complete bucket that follows the last launched one.
  void launch_ready();
  void launch(Bucket& bucket);

  std::shared_ptr<ProcessGroup::State> state_;
  std::vector<torch::Tensor> parameters_;
  std::vector<Bucket> buckets_;
  std::vector<size_t> bucket_of_;
  std::vector<int64_t> slot_of_;
  std::vector<bool> arrived_;
  std::vector<std::pair<size_t, unsigned>> hooks_;  // parameter, hook
  torch::Tensor scale_;                             // 1 / world size
  std::vector<size_t> arrival_;                     // first step's gradient order
  bool rebuilt_ = false;
  std::mutex mutex_;
  bool armed_ = false;
  size_t next_launch_ = 0;
  int64_t launched_during_backward_ = 0;
  std::string launch_error_;
};

}  // namespace nddr::dist
