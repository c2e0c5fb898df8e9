#include "nddr/tasks/losses.h"

#include <string>

#include "nddr/tasks/task_kind.h"

namespace nddr {

namespace F = torch::nn::functional;

LossTerms task_loss_terms(const TaskSpec& task, const torch::Tensor& output,
                          const torch::Tensor& target) {
  return task.kind->loss(task, output, target);
}

torch::Tensor task_loss(const TaskSpec& task, const torch::Tensor& output,
                        const torch::Tensor& target) {
  const LossTerms terms = task_loss_terms(task, output, target);
  return terms.sum / terms.count.clamp_min(1);
}

namespace {

/// Source index of every output index along one axis, computed by torch's own
/// nearest interpolation so that the convention matches it bit for bit.
torch::Tensor nearest_source_indices(int64_t in_size, int64_t out_size) {
  auto positions = torch::arange(in_size, torch::kFloat).view({1, 1, in_size});
  auto picked = F::interpolate(
      positions,
      F::InterpolateFuncOptions().size(std::vector<int64_t>{out_size}).mode(torch::kNearest));
  return picked.view({out_size}).to(torch::kLong);
}

}  // namespace

torch::Tensor resize_target_nearest(const torch::Tensor& target, const TaskKind& kind,
                                    int64_t height, int64_t width) {
  if (!is_dense(kind)) return target;
  TORCH_CHECK(target.dim() >= 2 && target.dim() <= 4,
              "resize_target_nearest: target must be [H,W], [C,H,W] or [N,C,H,W], got ",
              target.sizes());
  TORCH_CHECK(height > 0 && width > 0, "resize_target_nearest: size must be positive, got ", height,
              "x", width);
  const int64_t rows_dim = target.dim() - 2;
  const int64_t cols_dim = target.dim() - 1;
  if (target.size(rows_dim) == height && target.size(cols_dim) == width) return target;
  auto rows = nearest_source_indices(target.size(rows_dim), height).to(target.device());
  auto cols = nearest_source_indices(target.size(cols_dim), width).to(target.device());
  return target.index_select(rows_dim, rows).index_select(cols_dim, cols);
}

}  // namespace nddr
