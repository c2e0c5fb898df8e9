#include "nddr/tasks/losses.h"

#include <string>

#include "target_checks.h"

namespace nddr {

namespace F = torch::nn::functional;

namespace {

/// Cross-entropy summed over non-ignored labels, and their count: nll_loss's
/// own mean divides 0 by 0 when every label is ignored.
LossTerms masked_cross_entropy(const torch::Tensor& logits, const torch::Tensor& labels,
                               int64_t ignore) {
  auto total = F::nll_loss(torch::log_softmax(logits, 1), labels,
                           F::NLLLossFuncOptions().ignore_index(ignore).reduction(torch::kSum));
  return {total, (labels != ignore).sum().to(total.scalar_type())};
}

/// Sum of `values` over `valid`, and the count of valid elements.
LossTerms masked_sum(const torch::Tensor& values, const torch::Tensor& valid) {
  auto mask = valid.to(values.scalar_type());
  return {(values * mask).sum(), mask.sum()};
}

LossTerms segmentation_loss(const TaskSpec& task, const torch::Tensor& output,
                            const torch::Tensor& target) {
  check_segmentation_shapes(task, output, target);
  check_labels(task, target, kIgnoreLabel);
  return masked_cross_entropy(output, target.to(torch::kLong), kIgnoreLabel);
}

LossTerms normals_loss(const TaskSpec& task, const torch::Tensor& output,
                       const torch::Tensor& target) {
  check_dense_shapes(task, output, target, 3);
  auto truth = target.to(output.scalar_type());
  auto valid = truth.abs().sum(1) > 0;
  auto cosine = (F::normalize(output, F::NormalizeFuncOptions().dim(1)) *
                 F::normalize(truth, F::NormalizeFuncOptions().dim(1)))
                    .sum(1);
  return masked_sum(1 - cosine, valid);
}

LossTerms depth_loss(const TaskSpec& task, const torch::Tensor& output,
                     const torch::Tensor& target) {
  check_dense_shapes(task, output, target, 1);
  auto truth = target.to(output.scalar_type());
  return masked_sum((output - truth).abs(), truth > 0);
}

LossTerms classification_loss(const TaskSpec& task, const torch::Tensor& output,
                              const torch::Tensor& target) {
  check_classification_shapes(task, output, target);
  check_labels(task, target, kIgnoreClass);
  return masked_cross_entropy(output, target.to(torch::kLong), kIgnoreClass);
}

}  // namespace

LossTerms task_loss_terms(const TaskSpec& task, const torch::Tensor& output,
                          const torch::Tensor& target) {
  switch (task.kind) {
    case TaskKind::kSegmentation:
      return segmentation_loss(task, output, target);
    case TaskKind::kNormals:
      return normals_loss(task, output, target);
    case TaskKind::kDepth:
      return depth_loss(task, output, target);
    case TaskKind::kClassification:
      return classification_loss(task, output, target);
  }
  TORCH_CHECK(false, "task '", task.name, "': unhandled task kind");
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

torch::Tensor resize_target_nearest(const torch::Tensor& target, TaskKind kind, int64_t height,
                                    int64_t width) {
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
