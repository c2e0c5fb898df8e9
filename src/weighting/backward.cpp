#include "nddr/weighting/backward.h"

#include "nddr/util/error.h"

namespace nddr {

namespace {

torch::Tensor loss_values(const torch::Tensor& losses, const WeightingContext& context) {
  torch::Tensor values = losses.detach().to(torch::kCPU, torch::kDouble).clone();
  if (context.average) context.average(values);
  return values;
}

// The T x T Gram matrix of the rows of `rows` [T, P], in double on the CPU.
torch::Tensor gram_of(const torch::Tensor& rows) {
  return rows.matmul(rows.t()).to(torch::kCPU, torch::kDouble);
}

torch::Tensor weighted_sum(const torch::Tensor& weights, const torch::Tensor& losses) {
  return (weights.to(losses.options()) * losses).sum();
}

}  // namespace

std::vector<std::vector<torch::Tensor>> per_task_gradients(
    const torch::Tensor& losses, const std::vector<torch::Tensor>& parameters) {
  std::vector<std::vector<torch::Tensor>> grads;
  for (int64_t t = 0; t < losses.size(0); ++t) {
    grads.push_back(torch::autograd::grad({losses[t]}, parameters, /*grad_outputs=*/{},
                                          /*retain_graph=*/true, /*create_graph=*/false,
                                          /*allow_unused=*/true));
  }
  return grads;
}

std::vector<bool> shared_mask(const std::vector<std::vector<torch::Tensor>>& grads) {
  std::vector<bool> shared(grads.empty() ? 0 : grads.front().size(), false);
  for (size_t i = 0; i < shared.size(); ++i) {
    int reached = 0;
    for (const auto& task : grads) reached += task[i].defined() ? 1 : 0;
    shared[i] = reached >= 2;
  }
  return shared;
}

torch::Tensor weighted_backward(Weighting& weighting, const torch::Tensor& losses,
                                const std::vector<torch::Tensor>& parameters,
                                const WeightingContext& context) {
  TORCH_CHECK(losses.dim() == 1 && losses.size(0) == weighting.num_tasks(),
              "weighted_backward: expected ", weighting.num_tasks(), " losses, got ",
              losses.sizes());
  if (!weighting.uses_gradients()) {
    torch::Tensor total = weighting.combine(losses, loss_values(losses, context), context);
    total.backward();
    return total.detach();
  }
  if (weighting.mode() != "parameters") {
    throw Error("weighting mode '" + weighting.mode() +
                "' needs the shared representation: call representation_backward");
  }
  const auto grads = per_task_gradients(losses, parameters);
  const auto shared = shared_mask(grads);
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
  torch::Tensor matrix = torch::stack(rows);  // [T, P_shared]
  if (context.average) context.average(matrix);
  const torch::Tensor weights =
      weighting.gradient_weights(gram_of(matrix), loss_values(losses, context), context);
  const torch::Tensor direction = weights.to(matrix.options()).matmul(matrix);
  int64_t offset = 0;
  for (size_t i = 0; i < parameters.size(); ++i) {
    torch::Tensor grad;
    if (shared[i]) {
      const int64_t size = parameters[i].numel();
      grad = direction.slice(0, offset, offset + size).view_as(parameters[i]).clone();
      offset += size;
    } else {
      for (const auto& task : grads) {
        if (task[i].defined()) grad = grad.defined() ? grad + task[i] : task[i];
      }
    }
    if (grad.defined()) parameters[i].mutable_grad() = grad;
  }
  return weighted_sum(weights, losses).detach();
}

torch::Tensor representation_backward(Weighting& weighting, const torch::Tensor& losses,
                                      const torch::Tensor& representation,
                                      const WeightingContext& context) {
  if (!weighting.uses_gradients()) return weighted_backward(weighting, losses, {}, context);
  std::vector<torch::Tensor> rows;
  for (int64_t t = 0; t < losses.size(0); ++t) {
    rows.push_back(
        torch::autograd::grad({losses[t]}, {representation}, {}, true, false, true)[0].reshape(
            {-1}));
  }
  torch::Tensor matrix = torch::stack(rows);
  if (context.average) context.average(matrix);
  const torch::Tensor weights =
      weighting.gradient_weights(gram_of(matrix), loss_values(losses, context), context);
  const torch::Tensor total = weighted_sum(weights, losses);
  total.backward();
  return total.detach();
}

}  // namespace nddr
