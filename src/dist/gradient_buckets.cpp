#include "gradient_buckets.h"

#include "nddr/util/error.h"

namespace nddr::dist {

namespace {

constexpr double kFirstBucketBytes = 1024.0 * 1024.0;

bool same_kind(const torch::Tensor& a, const torch::Tensor& b) {
  return a.scalar_type() == b.scalar_type() && a.device() == b.device();
}

}  // namespace

GradientBuckets::GradientBuckets(std::shared_ptr<ProcessGroup::State> state,
                                 std::vector<torch::Tensor> parameters)
    : state_(std::move(state)), parameters_(std::move(parameters)) {
  const size_t count = parameters_.size();
  bucket_of_.assign(count, 0);
  slot_of_.assign(count, 0);
  arrived_.assign(count, false);
  scale_ = torch::full({}, 1.0 / static_cast<double>(state_->world_size), torch::kDouble);
  std::vector<size_t> order;
  for (size_t k = count; k-- > 0;) {
    if (parameters_[k].requires_grad()) order.push_back(k);
  }
  build_buckets(order);
  for (size_t k : order) {
    hooks_.emplace_back(k, parameters_[k].register_hook([this, k](const torch::Tensor& gradient) {
      on_gradient(k, gradient);
    }));
  }
}

void GradientBuckets::build_buckets(const std::vector<size_t>& order) {
  const double cap_bytes = state_->options.bucket_mb() * 1024.0 * 1024.0;
  std::vector<std::vector<size_t>> groups;
  double bytes = 0;
  for (size_t k : order) {
    const torch::Tensor& parameter = parameters_[k];
    const double limit = groups.size() == 1 ? std::min(kFirstBucketBytes, cap_bytes) : cap_bytes;
    if (groups.empty() || bytes >= limit ||
        !same_kind(parameters_[groups.back().front()], parameter)) {
      groups.emplace_back();
      bytes = 0;
    }
    groups.back().push_back(k);
    bytes += static_cast<double>(parameter.numel() * parameter.element_size());
  }
  buckets_.clear();
  for (const auto& group : groups) {
    Bucket bucket;
    int64_t numel = 0;
    for (size_t k : group) {
      bucket_of_[k] = buckets_.size();
      slot_of_[k] = static_cast<int64_t>(bucket.offsets.size());
      bucket.parameters.push_back(k);
      bucket.offsets.push_back(numel);
      numel += parameters_[k].numel();
    }
    bucket.buffer =
        torch::zeros({numel}, parameters_[group.front()].options().requires_grad(false));
    buckets_.push_back(std::move(bucket));
  }
}

void GradientBuckets::rebuild_in_arrival_order(const std::string& what) {
  if (buckets_.empty()) return;
  // Parameters without a gradient in the first step go last, in the old order.
  std::vector<size_t> order = arrival_;
  std::vector<bool> listed(parameters_.size(), false);
  for (size_t k : order) listed[k] = true;
  for (const auto& bucket : buckets_) {
    for (size_t k : bucket.parameters) {
      if (!listed[k]) order.push_back(k);
    }
  }
  // Every rank must bucket alike: rank 0's order for all (one small broadcast).
  // On the buckets' device, which the backend serves (NCCL: CUDA only).
  std::vector<torch::Tensor> tensors{torch::tensor(std::vector<int64_t>(order.begin(), order.end()))
                                         .to(buckets_.front().buffer.device())};
  state_->wait(state_->backend->broadcast(tensors), what + " (bucket order)");
  const torch::Tensor ranked = tensors.front().cpu();
  for (size_t i = 0; i < order.size(); ++i) {
    order[i] = static_cast<size_t>(ranked[static_cast<int64_t>(i)].item<int64_t>());
  }
  arrival_.clear();
  build_buckets(order);
}

GradientBuckets::~GradientBuckets() {
  // The hooks capture `this`: remove them with it.
  for (const auto& [k, hook] : hooks_) parameters_[k].remove_hook(hook);
}

void GradientBuckets::begin() {
  const std::lock_guard<std::mutex> lock(mutex_);
  state_->check_usable("gradient all-reduce");
  for (auto& bucket : buckets_) {
    bucket.pending = bucket.parameters.size();
    bucket.work.reset();
  }
  std::fill(arrived_.begin(), arrived_.end(), false);
  next_launch_ = 0;
  launched_during_backward_ = 0;
  launch_error_.clear();
  armed_ = true;
}

void GradientBuckets::on_gradient(size_t parameter, const torch::Tensor& gradient) {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (!armed_) return;
  TORCH_CHECK(!arrived_[parameter], "gradient sync: parameter ", parameter,
              " received two gradients in one step");
  arrived_[parameter] = true;
  if (!rebuilt_) arrival_.push_back(parameter);
  Bucket& bucket = buckets_[bucket_of_[parameter]];
  const int64_t offset = bucket.offsets[static_cast<size_t>(slot_of_[parameter])];
  // Averaged here, inside the backward pass, rather than after the wait.
  auto slot = bucket.buffer.narrow(0, offset, gradient.numel()).view(gradient.sizes());
  at::mul_out(slot, gradient, scale_);
  --bucket.pending;
  launch_ready();
  launched_during_backward_ = static_cast<int64_t>(next_launch_);
}

void GradientBuckets::launch(Bucket& bucket) {
  std::vector<torch::Tensor> tensors{bucket.buffer};
  try {
    bucket.work = state_->backend->allreduce(tensors);
  } catch (const std::exception& error) {
    // Thrown from inside autograd it would lose its meaning: finish() reports it.
    if (launch_error_.empty()) launch_error_ = c10d_message(error);
  }
}

void GradientBuckets::launch_ready() {
  while (next_launch_ < buckets_.size() && buckets_[next_launch_].pending == 0) {
    launch(buckets_[next_launch_++]);
  }
}

GradientSyncStats GradientBuckets::finish(int64_t step) {
  const auto backward_end = std::chrono::steady_clock::now();
  const std::string what = "gradient all-reduce at step " + std::to_string(step);
  GradientSyncStats stats;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    armed_ = false;
    stats.buckets = static_cast<int64_t>(buckets_.size());
    stats.launched_during_backward = launched_during_backward_;
    // Parameters without a gradient this step (unused by the graph) add zero.
    for (auto& bucket : buckets_) {
      for (size_t slot = 0; slot < bucket.parameters.size(); ++slot) {
        const size_t k = bucket.parameters[slot];
        if (arrived_[k]) continue;
        bucket.buffer.narrow(0, bucket.offsets[slot], parameters_[k].numel()).zero_();
        bucket.pending = 0;
      }
    }
    launch_ready();
  }
  if (!launch_error_.empty()) state_->fail(what, launch_error_);
  for (auto& bucket : buckets_) {
    state_->wait(bucket.work, what);
    for (size_t slot = 0; slot < bucket.parameters.size(); ++slot) {
      torch::Tensor& parameter = parameters_[bucket.parameters[slot]];
      if (!parameter.grad().defined()) continue;
      parameter.grad().copy_(
          bucket.buffer.narrow(0, bucket.offsets[slot], parameter.numel()).view_as(parameter));
    }
  }
  stats.exposed_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - backward_end).count();
  if (!rebuilt_) {
    rebuild_in_arrival_order(what);
    rebuilt_ = true;
  }
  return stats;
}

}  // namespace nddr::dist
