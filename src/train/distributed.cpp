#include "nddr/train/distributed.h"

#include <map>

#include "nddr/layers/batch_norm.h"

namespace nddr {

namespace {

// Runs `operation` on one flat buffer per dtype holding all of `tensors`,
// then copies the results back: one collective instead of hundreds.
void on_flat_buffers(const std::vector<torch::Tensor>& tensors,
                     const std::function<void(torch::Tensor&)>& operation) {
  std::map<torch::ScalarType, std::vector<torch::Tensor>> by_type;
  for (const auto& tensor : tensors) by_type[tensor.scalar_type()].push_back(tensor);
  torch::NoGradGuard no_grad;
  for (auto& entry : by_type) {
    std::vector<torch::Tensor> flat;
    for (const auto& tensor : entry.second) flat.push_back(tensor.detach().reshape(-1));
    torch::Tensor buffer = torch::cat(flat);
    operation(buffer);
    int64_t offset = 0;
    for (auto& tensor : entry.second) {
      tensor.detach().copy_(buffer.narrow(0, offset, tensor.numel()).view_as(tensor));
      offset += tensor.numel();
    }
  }
}

}  // namespace

void broadcast_module_state(torch::nn::Module& module, Collective& collective,
                            const std::string& what) {
  std::vector<torch::Tensor> tensors = module.parameters();
  for (const auto& buffer : module.buffers()) tensors.push_back(buffer);
  on_flat_buffers(tensors, [&](torch::Tensor& flat) { collective.broadcast(flat, 0, what); });
}

void synchronise_running_stats(torch::nn::Module& module, Collective& collective) {
  std::vector<torch::Tensor> synchronised;
  std::vector<torch::Tensor> per_rank;
  for (const auto& child : module.modules()) {
    auto* norm = child->as<torch::nn::BatchNorm2dImpl>();
    if (norm == nullptr || !norm->options.track_running_stats()) continue;
    auto* ours = child->as<BatchNorm2dImpl>();
    auto& target = ours != nullptr && ours->synchronised() ? synchronised : per_rank;
    target.push_back(norm->running_mean);
    target.push_back(norm->running_var);
  }
  if (!synchronised.empty()) {
    on_flat_buffers(synchronised, [&](torch::Tensor& flat) {
      collective.broadcast(flat, 0, "broadcast of SyncBatchNorm running statistics");
    });
  }
  if (!per_rank.empty()) {
    const double scale = 1.0 / static_cast<double>(collective.world_size());
    on_flat_buffers(per_rank, [&](torch::Tensor& flat) {
      collective.all_reduce_sum(flat, "average of BatchNorm running statistics");
      flat.mul_(scale);
    });
  }
}

RankLosses normalise_over_ranks(const std::vector<LossTerms>& terms, Collective& collective) {
  const auto tasks = static_cast<int64_t>(terms.size());
  std::vector<torch::Tensor> local;
  for (const auto& term : terms) local.push_back(term.sum.detach().to(torch::kDouble).view({1}));
  for (const auto& term : terms) local.push_back(term.count.detach().to(torch::kDouble).view({1}));
  torch::Tensor global = torch::cat(local);
  collective.all_reduce_sum(global, "loss normalisation counts");
  RankLosses losses;
  const auto world = static_cast<double>(collective.world_size());
  for (int64_t t = 0; t < tasks; ++t) {
    const double count = std::max(global[tasks + t].item<double>(), 1.0);
    losses.backward.push_back(terms[t].sum * (world / count));
    losses.values.push_back(global[t].item<double>() / count);
  }
  return losses;
}

std::function<void(torch::Tensor&)> weighting_average(Collective& collective,
                                                      const torch::Device& device) {
  const double scale = 1.0 / static_cast<double>(collective.world_size());
  return [&collective, device, scale](torch::Tensor& tensor) {
    torch::NoGradGuard no_grad;
    torch::Tensor reduced = tensor.to(device);
    collective.all_reduce_sum(reduced, "all-reduce of the task weighting's losses and gradients");
    reduced.mul_(scale);
    if (!reduced.is_same(tensor)) tensor.copy_(reduced);
  };
}

}  // namespace nddr
