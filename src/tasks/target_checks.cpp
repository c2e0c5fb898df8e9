#include "target_checks.h"

#include <string>

#include "nddr/util/error.h"

namespace nddr {

void check_labels(const TaskSpec& task, const torch::Tensor& labels, int64_t ignore) {
  auto used = labels.masked_select(labels != ignore);
  if (used.numel() == 0) return;
  const int64_t low = used.min().item<int64_t>();
  const int64_t high = used.max().item<int64_t>();
  if (low < 0 || high >= task.channels) {
    throw Error("task '" + task.name + "': label " + std::to_string(low < 0 ? low : high) +
                " is outside [0, " + std::to_string(task.channels) +
                ") and is not the ignore value " + std::to_string(ignore));
  }
}

void check_dense_shapes(const TaskSpec& task, const torch::Tensor& output,
                        const torch::Tensor& target, int64_t target_channels) {
  TORCH_CHECK(output.dim() == 4 && output.size(1) == task.channels, "task '", task.name,
              "': output must be [N,", task.channels, ",H,W], got ", output.sizes());
  TORCH_CHECK(
      target.dim() == 4 && target.size(0) == output.size(0) && target.size(1) == target_channels &&
          target.size(2) == output.size(2) && target.size(3) == output.size(3),
      "task '", task.name, "': target ", target.sizes(), " does not fit output ", output.sizes());
}

void check_segmentation_shapes(const TaskSpec& task, const torch::Tensor& output,
                               const torch::Tensor& target) {
  TORCH_CHECK(target.dim() == 3, "task '", task.name,
              "': segmentation target must be [N,H,W], got ", target.sizes());
  check_dense_shapes(task, output, target.unsqueeze(1), 1);
}

void check_classification_shapes(const TaskSpec& task, const torch::Tensor& output,
                                 const torch::Tensor& target) {
  TORCH_CHECK(output.dim() == 2 && output.size(1) == task.channels, "task '", task.name,
              "': output must be [N,", task.channels, "], got ", output.sizes());
  TORCH_CHECK(target.dim() == 1 && target.size(0) == output.size(0), "task '", task.name,
              "': target must be [", output.size(0), "], got ", target.sizes());
}

}  // namespace nddr
