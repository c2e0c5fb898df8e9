#include "nddr/layers/batch_norm.h"

// LibTorch (1.13 and 2.x alike) defines this member of its BatchNorm base
// class out of line without exporting it, so a class derived from
// BatchNorm2dImpl cannot link its vtable against it. An explicit
// specialization for the one instantiation nddr derives from supplies it,
// printing what torch's does.
template <>
void torch::nn::BatchNormImplBase<2, torch::nn::BatchNorm2dImpl>::pretty_print(
    std::ostream& stream) const {
  stream << "torch::nn::BatchNorm2d(" << options.num_features() << ", eps=" << options.eps()
         << ", momentum=";
  if (options.momentum().has_value()) {
    stream << *options.momentum();
  } else {
    stream << "None";
  }
  stream << ", affine=" << std::boolalpha << options.affine()
         << ", track_running_stats=" << options.track_running_stats() << ")";
}

namespace nddr {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Per-channel reduction over every dimension but 1, kept broadcastable.
torch::Tensor channel_sum(const torch::Tensor& x) {
  std::vector<int64_t> dims{0};
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  return x.sum(dims);
}

std::vector<int64_t> channel_shape(const torch::Tensor& x) {
  std::vector<int64_t> shape(static_cast<size_t>(x.dim()), 1);
  shape[1] = x.size(1);
  return shape;
}

class SyncBatchNormFunction : public torch::autograd::Function<SyncBatchNormFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& input,
                               const torch::Tensor& weight, const torch::Tensor& bias,
                               torch::Tensor running_mean, torch::Tensor running_var,
                               double momentum, double eps, Collective* collective) {
    const auto shape = channel_shape(input);
    const int64_t channels = input.size(1);
    // Pass 1: sums and element counts -> the global mean.
    torch::Tensor sums = torch::cat(
        {channel_sum(input),
         torch::full({1}, static_cast<double>(input.numel() / channels), input.options())});
    collective->all_reduce_sum(sums, "SyncBatchNorm mean");
    const torch::Tensor count = sums.narrow(0, channels, 1);
    const torch::Tensor mean = sums.narrow(0, 0, channels) / count;
    const torch::Tensor centred = input - mean.view(shape);
    // Pass 2: squared deviations from it -> the global biased variance.
    torch::Tensor squares = channel_sum(centred * centred);
    collective->all_reduce_sum(squares, "SyncBatchNorm variance");
    const torch::Tensor var = squares / count;
    const torch::Tensor invstd = torch::rsqrt(var + eps);
    const torch::Tensor normalised = centred * invstd.view(shape);

    if (running_mean.defined()) {
      torch::NoGradGuard no_grad;
      const double n = count.item<double>();
      running_mean.mul_(1 - momentum).add_(mean.to(running_mean.dtype()), momentum);
      running_var.mul_(1 - momentum)
          .add_((var * (n / std::max(n - 1, 1.0))).to(running_var.dtype()), momentum);
    }
    ctx->save_for_backward({normalised, invstd, weight, count});
    ctx->saved_data["collective"] = reinterpret_cast<int64_t>(collective);
    ctx->saved_data["has_bias"] = bias.defined();
    torch::Tensor output = normalised;
    if (weight.defined()) output = output * weight.view(shape);
    if (bias.defined()) output = output + bias.view(shape);
    return output;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    auto* collective = reinterpret_cast<Collective*>(ctx->saved_data["collective"].toInt());
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& normalised = saved[0];
    const torch::Tensor& invstd = saved[1];
    const torch::Tensor& weight = saved[2];
    const torch::Tensor& count = saved[3];
    const torch::Tensor& grad = grad_outputs[0];
    const auto shape = channel_shape(normalised);
    const int64_t channels = normalised.size(1);

    const torch::Tensor local_dy = channel_sum(grad);
    const torch::Tensor local_dy_xhat = channel_sum(grad * normalised);
    torch::Tensor sums = torch::cat({local_dy, local_dy_xhat});
    collective->all_reduce_sum(sums, "SyncBatchNorm backward");
    const torch::Tensor mean_dy = sums.narrow(0, 0, channels) / count;
    const torch::Tensor mean_dy_xhat = sums.narrow(0, channels, channels) / count;
    torch::Tensor scale = invstd;
    if (weight.defined()) scale = scale * weight;
    const torch::Tensor grad_input =
        (grad - mean_dy.view(shape) - normalised * mean_dy_xhat.view(shape)) * scale.view(shape);
    return {grad_input,
            weight.defined() ? local_dy_xhat : torch::Tensor(),
            ctx->saved_data["has_bias"].toBool() ? local_dy : torch::Tensor(),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace

torch::Tensor sync_batch_norm(const torch::Tensor& input, const torch::Tensor& weight,
                              const torch::Tensor& bias, torch::Tensor running_mean,
                              torch::Tensor running_var, double momentum, double eps,
                              Collective& collective) {
  TORCH_CHECK(input.dim() >= 2, "sync_batch_norm: input must be [N,C,...], got ", input.sizes());
  return SyncBatchNormFunction::apply(input, weight, bias, std::move(running_mean),
                                      std::move(running_var), momentum, eps, &collective);
}

torch::Tensor BatchNorm2dImpl::forward(const torch::Tensor& input) {
  if (!sync_ || !is_training() || sync_->world_size() == 1) {
    return torch::nn::BatchNorm2dImpl::forward(input);
  }
  TORCH_CHECK(input.dim() == 4, "BatchNorm2d: expected a 4-D input, got ", input.sizes());
  TORCH_CHECK(options.momentum().has_value(),
              "SyncBatchNorm needs a momentum (cumulative averaging is not supported)");
  const bool track = options.track_running_stats();
  if (track) num_batches_tracked.add_(1);
  return sync_batch_norm(input, weight, bias, track ? running_mean : torch::Tensor(),
                         track ? running_var : torch::Tensor(), *options.momentum(), options.eps(),
                         *sync_);
}

std::shared_ptr<torch::nn::Module> BatchNorm2dImpl::clone(
    const torch::optional<torch::Device>& device) const {
  auto copy = std::make_shared<BatchNorm2dImpl>(options);
  torch::NoGradGuard no_grad;
  auto copy_parameters = copy->named_parameters(/*recurse=*/false);
  for (const auto& item : named_parameters(/*recurse=*/false)) {
    copy_parameters[item.key()].set_data(device ? item.value().data().to(*device)
                                                : item.value().data().clone());
  }
  auto copy_buffers = copy->named_buffers(/*recurse=*/false);
  for (const auto& item : named_buffers(/*recurse=*/false)) {
    copy_buffers[item.key()].set_data(device ? item.value().data().to(*device)
                                             : item.value().data().clone());
  }
  copy->train(is_training());
  copy->set_sync(sync_);
  return copy;
}

int64_t set_sync_batch_norm(torch::nn::Module& module, std::shared_ptr<Collective> collective) {
  int64_t count = 0;
  for (const auto& child : module.modules(/*include_self=*/true)) {
    if (auto* norm = child->as<BatchNorm2dImpl>()) {
      norm->set_sync(collective);
      ++count;
    }
  }
  return count;
}

}  // namespace nddr
