#pragma once
// The overlapped gradient average behind ProcessGroup::gradient_sync.
//
// Parameters are packed into buckets in reverse registration order, the order
// in which the backward pass roughly produces their gradients. A hook on each
// parameter copies its gradient into its bucket's flat buffer; when a bucket
// is complete it is all-reduced asynchronously while autograd goes on with the
// earlier layers. Buckets are launched strictly in order, so that every rank
// issues the same sequence of collectives whatever order its hooks fire in.

#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <mutex>
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
  std::vector<unsigned> hooks_;
  std::mutex mutex_;
  bool armed_ = false;
  size_t next_launch_ = 0;
  int64_t launched_during_backward_ = 0;
  std::string launch_error_;
};

}  // namespace nddr::dist
