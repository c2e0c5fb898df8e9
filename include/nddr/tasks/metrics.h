#pragma once
// Metrics accumulate over a whole evaluation set and are pooled over all
// pixels (or images) at the end, as the paper's evaluation does.

#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>

#include "nddr/tasks/task.h"

namespace nddr {

/// Metric values by name, e.g. {"miou": 0.41, "pixel_acc": 0.7}.
using MetricValues = std::map<std::string, double>;

/// An accumulator's state in a form that merges across disjoint shards of a
/// set (distributed evaluation): `counts` (int64 [n]) add up exactly;
/// `partials` (double [adds, k]) hold one row of floating-point sums per add()
/// call, pooled by compute() in row order. Shards merged by adding counts and
/// placing each batch's row at its position in the single-process order give
/// bit-identical metrics to one pass over the set.
struct MetricState {
  torch::Tensor counts;
  torch::Tensor partials;
};

class MetricAccumulator {
 public:
  virtual ~MetricAccumulator() = default;
  /// Adds a batch: `output` is the raw network output at the target's size.
  virtual void add(const torch::Tensor& output, const torch::Tensor& target) = 0;
  virtual MetricValues compute() const = 0;
  /// For every metric name: true when higher is better.
  virtual std::map<std::string, bool> higher_is_better() const = 0;
  virtual void reset() = 0;
  virtual MetricState state() const = 0;
  /// Replaces the accumulated state (shapes as state() returns them, any
  /// number of partial rows); Error on a shape mismatch.
  virtual void set_state(const MetricState& state) = 0;
};

/// Metric names per kind:
///  - segmentation: miou, pixel_acc (confusion matrix over the set; classes
///    with an empty union are left out of the mean)
///  - normals: mean, median, rmse (degrees), within_11.25, within_22.5, within_30 (%)
///  - depth: abs_err, abs_rel, rmse, delta_1.25 (%)
///  - classification: accuracy (%)
/// Units: miou and pixel_acc are fractions in [0, 1]; the normals median is
/// exact to within kAngleBinDegrees (binned, see histogram.h); every other
/// value is exact up to double rounding. A metric with nothing valid to pool
/// over (no valid pixel, no class with a non-empty union) is NaN.
/// Batches are laid out as for task_loss (see losses.h); the output may live on
/// any device and be of any floating type: accumulation is on the CPU in double.
/// Depth predictions <= 0 count as outside every delta threshold.
std::unique_ptr<MetricAccumulator> make_metric(const TaskSpec& task);

/// Bin width of the pooled normals-angle histogram behind the median.
constexpr double kAngleBinDegrees = 0.001;

/// Segmentation accumulator, exposed for its confusion matrix (e.g. to plot it).
class SegmentationMetric : public MetricAccumulator {
 public:
  /// `task.channels` classes; errors name `task.name`.
  explicit SegmentationMetric(TaskSpec task);
  void add(const torch::Tensor& output, const torch::Tensor& target) override;
  MetricValues compute() const override;
  std::map<std::string, bool> higher_is_better() const override;
  void reset() override;
  MetricState state() const override;
  void set_state(const MetricState& state) override;
  /// int64 [classes, classes]: rows are ground truth, columns predictions.
  const torch::Tensor& confusion() const { return confusion_; }

 private:
  TaskSpec task_;
  torch::Tensor confusion_;
};

/// Multi-task summary (Maninis et al.): delta_m = (1/T) sum_t (1/M_t)
/// sum_m s_m (M_mtl - M_single) / M_single, in percent, s_m = +1 where higher
/// is better. Tasks or metrics missing from `single` are an Error naming them.
/// T runs over the tasks of `multi_task` and M_t over each task's metrics; a
/// metric without a higher_is_better flag, or whose single-task value is 0,
/// is an Error too.
double delta_m(const std::map<std::string, MetricValues>& multi_task,
               const std::map<std::string, MetricValues>& single_task,
               const std::map<std::string, std::map<std::string, bool>>& higher_is_better);

}  // namespace nddr
