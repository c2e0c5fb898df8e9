#include "nddr/weighting/backward.h"

#include "nddr/compat.h"
#include "nddr/util/error.h"

namespace nddr {

namespace {

torch::Tensor loss_values(const std::vector<torch::Tensor>& losses,
                          const WeightingContext& context) {
  torch::Tensor values = torch::stack(losses).detach().to(torch::kCPU, torch::kDouble);
  if (context.average) context.average(values);
  return values;
}

// The T x T Gram matrix of the rows of `rows` [T, P], in double on the CPU.
torch::Tensor gram_of(const torch::Tensor& rows) {
  return rows.matmul(rows.t()).to(torch::kCPU, torch::kDouble);
}

torch::Tensor weighted_sum(const torch::Tensor& weights, const std::vector<torch::Tensor>& losses) {
  const torch::Tensor stacked = torch::stack(losses);
  return (weights.to(stacked.options()) * stacked).sum();
}

// Distributed: the per-task gradient rows of the shared parameters and the
// task-specific gradients averaged over the ranks in one collective, so that
// every rank holds the gradients of the global batch.
void average_with(torch::Tensor& matrix, std::vector<torch::Tensor>& specific,
                  const WeightingContext& context) {
  std::vector<torch::Tensor> flat{matrix.reshape({-1})};
  for (const auto& grad : specific) {
    if (grad.defined()) flat.push_back(grad.reshape({-1}).to(matrix.scalar_type()));
  }
  torch::Tensor buffer = torch::cat(flat);
  context.average(buffer);
  matrix = buffer.slice(0, 0, matrix.numel()).view_as(matrix);
  int64_t offset = matrix.numel();
  for (auto& grad : specific) {
    if (!grad.defined()) continue;
    grad =
        buffer.slice(0, offset, offset + grad.numel()).view_as(grad).to(grad.scalar_type()).clone();
    offset += grad.numel();
  }
}

// The loss to report: distributed, its mean over the ranks, which is the
// global batch's (every combination below is linear in the rank's losses).
torch::Tensor reported(torch::Tensor total, const WeightingContext& context) {
  if (!context.average) return total;
  torch::Tensor value = total.to(torch::kCPU, torch::kDouble).reshape({1}).clone();
  context.average(value);
  return value[0].to(total.options());
}

}  // namespace

std::vector<std::vector<torch::Tensor>> per_task_gradients(
    const std::vector<torch::Tensor>& losses, const std::vector<torch::Tensor>& parameters) {
  std::vector<std::vector<torch::Tensor>> grads;
  for (const auto& loss : losses) {
    grads.push_back(torch::autograd::grad({loss}, parameters, /*grad_outputs=*/{},
                                          /*retain_graph=*/true, /*create_graph=*/false,
                                          /*allow_unused=*/true));
  }
  return grads;
}

std::vector<bool> shared_mask(const std::vector<std::vector<torch::Tensor>>& grads,
                              const std::function<void(torch::Tensor&)>& average) {
  const size_t count = grads.empty() ? 0 : grads.front().size();
  // reached[t][i] > 0: task t's gradient of parameter i is defined and not
  // all zero. Zero counts as unreached: layers that compute every task's
  // output in one op (NDDR's stacked 1x1 conv) put exact zeros where a
  // task's loss does not depend on the parameter. One transfer per task.
  torch::Tensor reached = torch::zeros(
      {static_cast<int64_t>(grads.size()), static_cast<int64_t>(count)}, torch::kDouble);
  for (size_t t = 0; t < grads.size(); ++t) {
    std::vector<torch::Tensor> norms;
    std::vector<int64_t> index;
    for (size_t i = 0; i < count; ++i) {
      if (!grads[t][i].defined()) continue;
      norms.push_back(grads[t][i].abs().max().to(torch::kDouble));
      index.push_back(static_cast<int64_t>(i));
    }
    if (norms.empty()) continue;
    reached[static_cast<int64_t>(t)].index_copy_(0, torch::tensor(index),
                                                 torch::stack(norms).to(torch::kCPU));
  }
  // Distributed: reached on any rank, so that every rank flattens the same
  // parameters into the rows it averages.
  if (average) average(reached);
  const torch::Tensor tasks = (reached > 0).sum(0);
  const auto* per_parameter = compat::const_data<int64_t>(tasks);
  std::vector<bool> shared(count);
  for (size_t i = 0; i < count; ++i) shared[i] = per_parameter[i] >= 2;
  return shared;
}

torch::Tensor weighted_backward(Weighting& weighting, const std::vector<torch::Tensor>& raw_losses,
                                const std::vector<torch::Tensor>& parameters,
                                const WeightingContext& context) {
  const std::vector<torch::Tensor> losses = weighting.transform_losses(raw_losses);
  TORCH_CHECK(static_cast<int64_t>(losses.size()) == weighting.num_tasks(),
              "weighted_backward: expected ", weighting.num_tasks(), " losses, got ",
              losses.size());
  if (!weighting.uses_gradients()) {
    torch::Tensor total =
        weighting.combine(torch::stack(losses), loss_values(losses, context), context);
    (total * context.loss_scale).backward();
    return reported(total.detach(), context);
  }
  if (weighting.mode() != "parameters") {
    throw Error("weighting mode '" + weighting.mode() +
                "' needs the shared representation: call representation_backward");
  }
  std::vector<torch::Tensor> scaled_losses;
  for (const auto& loss : losses) scaled_losses.push_back(loss * context.loss_scale);
  const auto grads = per_task_gradients(scaled_losses, parameters);
  const auto shared = shared_mask(grads, context.average);
  std::vector<torch::Tensor> rows(grads.size());
  for (size_t t = 0; t < grads.size(); ++t) {
    std::vector<torch::Tensor> flat;
    for (size_t i = 0; i < parameters.size(); ++i) {
      if (shared[i]) flat.push_back(grads[t][i].reshape({-1}));
    }
    if (flat.empty()) {
      throw Error(
          "gradient-based weighting needs parameters shared by two or more tasks, and "
          "this network shares none (fusion 'single'?): use a loss-based method");
    }
    rows[t] = torch::cat(flat);
  }
  // Task-specific parameters take the sum of the task gradients that reach them.
  std::vector<torch::Tensor> specific(parameters.size());
  for (size_t i = 0; i < parameters.size(); ++i) {
    if (shared[i]) continue;
    for (const auto& task : grads) {
      if (task[i].defined()) specific[i] = specific[i].defined() ? specific[i] + task[i] : task[i];
    }
  }
  // The methods see unscaled gradients: not all of them are scale-equivariant
  // (Nash-MTL's weights scale as 1/|g|).
  torch::Tensor matrix = torch::stack(rows) / context.loss_scale;  // [T, P_shared]
  if (context.average) average_with(matrix, specific, context);
  torch::Tensor direction;
  torch::Tensor weights;
  if (torch::isfinite(matrix).all().item<bool>()) {
    weights = weighting.gradient_weights(gram_of(matrix), loss_values(losses, context), context);
    direction = weights.to(matrix.options()).matmul(matrix) * context.loss_scale;
  } else {
    // An overflowed (fp16) or diverged step: no method is defined on inf or
    // NaN; the plain sum carries them to the loss scaler or the NaN check.
    weights = torch::ones({weighting.num_tasks()}, torch::kDouble);
    direction = matrix.sum(0) * context.loss_scale;
  }
  int64_t offset = 0;
  for (size_t i = 0; i < parameters.size(); ++i) {
    torch::Tensor grad = specific[i];
    if (shared[i]) {
      const int64_t size = parameters[i].numel();
      grad = direction.slice(0, offset, offset + size).view_as(parameters[i]).clone();
      offset += size;
    }
    if (grad.defined()) parameters[i].mutable_grad() = grad;
  }
  return reported(weighted_sum(weights, losses).detach(), context);
}

torch::Tensor representation_backward(Weighting& weighting,
                                      const std::vector<torch::Tensor>& raw_losses,
                                      const torch::Tensor& representation,
                                      const WeightingContext& context) {
  if (!weighting.uses_gradients()) return weighted_backward(weighting, raw_losses, {}, context);
  const std::vector<torch::Tensor> losses = weighting.transform_losses(raw_losses);
  std::vector<torch::Tensor> rows;
  for (const auto& loss : losses) {
    const torch::Tensor grad =
        torch::autograd::grad({loss}, {representation}, {}, true, false, true)[0];
    if (!grad.defined()) {
      throw Error("representation_backward: a task's loss does not use the shared representation");
    }
    rows.push_back(grad.reshape({-1}));
  }
  // Distributed, each rank's rows cover its own samples' features, times W
  // (its losses are W times its share of the global loss): the global rows
  // are the ranks' rows over W side by side, so their Gram matrix is the
  // ranks' mean Gram matrix over W. The backward pass then goes through the
  // usual gradient average.
  torch::Tensor gram = gram_of(torch::stack(rows));
  if (context.average) {
    context.average(gram);
    gram /= static_cast<double>(context.world_size);
  }
  const torch::Tensor weights =
      weighting.gradient_weights(gram, loss_values(losses, context), context);
  const torch::Tensor total = weighted_sum(weights, losses);
  (total * context.loss_scale).backward();
  return reported(total.detach(), context);
}

}  // namespace nddr
