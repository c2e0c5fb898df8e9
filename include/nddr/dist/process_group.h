#pragma once
// A c10d process group built from the launcher's environment: rank 0 serves a
// c10d::TCPStore at MASTER_ADDR:MASTER_PORT, every rank joins it, and the
// collectives run over Gloo (CPU tensors) or NCCL (CUDA tensors, when the
// LibTorch build has it). Every failure (a peer that died, one that hangs past
// the timeout, a port in use, an unreachable master) is an nddr::Error naming
// this rank, the operation and, when the heartbeats tell, the rank at fault.
//
//   auto group = nddr::dist::ProcessGroup::create(nddr::dist::launch_env_from_environment(),
//                                                 nddr::dist::ProcessGroupOptions().timeout_seconds(60));
//   group->all_reduce_sum(tensor, "loss sums");

#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nddr/dist/launch_env.h"
#include "nddr/util/collective.h"

namespace nddr::dist {

struct ProcessGroupOptions {
  /// "auto" (NCCL when `cuda` and built with NCCL, else Gloo), "gloo" or "nccl".
  TORCH_ARG(std::string, backend) = "auto";
  /// Whether the tensors to reduce live on a CUDA device (picks "auto").
  TORCH_ARG(bool, cuda) = false;
  /// Limit of every wait: the rendezvous, each collective, the store.
  TORCH_ARG(double, timeout_seconds) = 600.0;
  /// Size of a gradient bucket; the first bucket is at most 1 MiB so the
  /// first all-reduce starts early in the backward pass (as in PyTorch DDP).
  TORCH_ARG(double, bucket_mb) = 25.0;
};

class ProcessGroup : public Collective {
 public:
  /// Joins the group of `launch` (blocks until every rank has joined, or the
  /// timeout). Error when the port is taken, the master cannot be reached,
  /// the backend is unknown or not built in.
  ProcessGroup(const LaunchEnv& launch, ProcessGroupOptions options);
  ~ProcessGroup() override;
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int64_t rank() const override;
  int64_t world_size() const override;
  void all_reduce_sum(torch::Tensor& tensor, const std::string& what) override;
  void broadcast(torch::Tensor& tensor, int64_t root, const std::string& what) override;
  void barrier(const std::string& what) override;
  std::unique_ptr<GradientSync> gradient_sync(std::vector<torch::Tensor> parameters) override;

  /// "gloo" or "nccl".
  const std::string& backend_name() const;

  /// Checks that `items` (named values, in a fixed order) are the same on
  /// every rank; otherwise an Error, on every rank, naming the first key
  /// whose value differs from rank 0's and both values.
  void check_identical(const std::vector<std::pair<std::string, std::string>>& items,
                       const std::string& what);

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace nddr::dist
