#pragma once
// What the built-in task kinds (kind_*.cpp) share: masked loss sums, the
// pieces of their metric accumulators, and the checks of target_checks.h.

#include <torch/torch.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <vector>

#include "nddr/tasks/losses.h"
#include "nddr/tasks/metrics.h"
#include "nddr/tasks/task_kind.h"
#include "target_checks.h"

namespace nddr::kinds {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// numerator / denominator, NaN when there is nothing to divide by.
inline double ratio(double numerator, double denominator) {
  return denominator > 0 ? numerator / denominator : kNaN;
}

/// Cross-entropy summed over non-ignored labels, and their count: nll_loss's
/// own mean divides 0 by 0 when every label is ignored.
LossTerms masked_cross_entropy(const torch::Tensor& logits, const torch::Tensor& labels,
                               int64_t ignore);

/// Sum of `values` over `valid`, and the count of valid elements.
LossTerms masked_sum(const torch::Tensor& values, const torch::Tensor& valid);

/// Floating-point sums kept per add() call (one row each, `columns` wide) and
/// pooled in row order, so that shards of a set merge bit-exactly (see
/// MetricState).
class PartialSums {
 public:
  explicit PartialSums(int64_t columns) : columns_(columns) {}

  void add_row(const std::vector<double>& row) {
    TORCH_CHECK(static_cast<int64_t>(row.size()) == columns_, "PartialSums: row of ", row.size());
    values_.insert(values_.end(), row.begin(), row.end());
  }

  double total(int64_t column) const {
    double sum = 0;
    for (size_t i = static_cast<size_t>(column); i < values_.size(); i += columns_) {
      sum += values_[i];
    }
    return sum;
  }

  torch::Tensor tensor() const {
    const auto rows = static_cast<int64_t>(values_.size()) / std::max<int64_t>(columns_, 1);
    return torch::tensor(values_, torch::kDouble).view({rows, columns_}).clone();
  }

  void set(const torch::Tensor& partials) {
    TORCH_CHECK(partials.dim() == 2 && partials.size(1) == columns_,
                "metric state: partial sums must be [rows, ", columns_, "], got ",
                partials.sizes());
    const auto flat = partials.to(torch::kDouble).contiguous().view(-1);
    values_.assign(flat.data_ptr<double>(), flat.data_ptr<double>() + flat.numel());
  }

  void clear() { values_.clear(); }

 private:
  int64_t columns_;
  std::vector<double> values_;
};

torch::Tensor counts_tensor(const std::vector<int64_t>& counts);

/// The counts of `state`, which must hold `expected` of them.
std::vector<int64_t> counts_of(const MetricState& state, size_t expected);

/// Detached, on the CPU, in double: metrics pool over whole sets, where float
/// sums would lose precision.
torch::Tensor to_cpu_double(const torch::Tensor& tensor);

/// A target flipped left-right, values unchanged (most dense kinds).
torch::Tensor flip_width(const torch::Tensor& target);

/// A [H,W] target shape, and [channels,H,W].
std::vector<int64_t> plane_shape(int64_t height, int64_t width);
std::function<std::vector<int64_t>(int64_t, int64_t)> map_shape(int64_t channels);

}  // namespace nddr::kinds
