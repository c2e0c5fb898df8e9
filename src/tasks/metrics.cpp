#include "nddr/tasks/metrics.h"

#include <cmath>
#include <limits>

#include "nddr/tasks/histogram.h"
#include "target_checks.h"

namespace nddr {

namespace F = torch::nn::functional;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kMaxAngleDegrees = 180.0;
constexpr double kDeltaThreshold = 1.25;

double ratio(double numerator, double denominator) {
  return denominator > 0 ? numerator / denominator : kNaN;
}

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

torch::Tensor counts_tensor(const std::vector<int64_t>& counts) {
  return torch::tensor(counts, torch::kLong);
}

std::vector<int64_t> counts_of(const MetricState& state, size_t expected) {
  TORCH_CHECK(state.counts.dim() == 1 && static_cast<size_t>(state.counts.numel()) == expected,
              "metric state: expected ", expected, " counts, got ", state.counts.sizes());
  const auto counts = state.counts.to(torch::kLong).contiguous();
  return {counts.data_ptr<int64_t>(), counts.data_ptr<int64_t>() + counts.numel()};
}

/// Detached, on the CPU, in double: metrics pool over whole sets, where float
/// sums would lose precision.
torch::Tensor to_cpu_double(const torch::Tensor& tensor) {
  return tensor.detach().to(torch::kCPU, torch::kDouble).contiguous();
}

class NormalsMetric : public MetricAccumulator {
 public:
  explicit NormalsMetric(TaskSpec task)
      : task_(std::move(task)),
        angles_(0.0, kMaxAngleDegrees,
                static_cast<int64_t>(std::llround(kMaxAngleDegrees / kAngleBinDegrees))) {}

  void add(const torch::Tensor& output, const torch::Tensor& target) override {
    check_dense_shapes(task_, output, target, 3);
    auto truth = to_cpu_double(target);
    auto valid = truth.abs().sum(1) > 0;
    auto predicted = F::normalize(to_cpu_double(output), F::NormalizeFuncOptions().dim(1));
    truth = F::normalize(truth, F::NormalizeFuncOptions().dim(1));
    // atan2(|a x b|, a.b) stays accurate near 0 and 180 degrees, where acos
    // of the dot product loses digits.
    auto angle = torch::rad2deg(
        torch::atan2(torch::cross(predicted, truth, 1).norm(2, 1), (predicted * truth).sum(1)));
    auto angles = angle.masked_select(valid).contiguous();
    const double* data = angles.data_ptr<double>();
    double sum = 0;
    double sum_squares = 0;
    for (int64_t i = 0; i < angles.numel(); ++i) {
      const double a = data[i];
      sum += a;
      sum_squares += a * a;
      within_11_ += a < 11.25;
      within_22_ += a < 22.5;
      within_30_ += a < 30.0;
    }
    sums_.add_row({sum, sum_squares});
    angles_.add(data, angles.numel());
  }

  MetricValues compute() const override {
    const auto n = static_cast<double>(angles_.count());
    return {{"mean", ratio(sums_.total(0), n)},
            {"median", angles_.median()},
            {"rmse", std::sqrt(ratio(sums_.total(1), n))},
            {"within_11.25", 100 * ratio(within_11_, n)},
            {"within_22.5", 100 * ratio(within_22_, n)},
            {"within_30", 100 * ratio(within_30_, n)}};
  }

  std::map<std::string, bool> higher_is_better() const override {
    return {{"mean", false},        {"median", false},     {"rmse", false},
            {"within_11.25", true}, {"within_22.5", true}, {"within_30", true}};
  }

  void reset() override {
    angles_.reset();
    sums_.clear();
    within_11_ = within_22_ = within_30_ = 0;
  }

  // counts: the angle histogram's bins, then within_11.25, _22.5, _30.
  MetricState state() const override {
    std::vector<int64_t> counts = angles_.bin_counts();
    counts.insert(counts.end(), {within_11_, within_22_, within_30_});
    return {counts_tensor(counts), sums_.tensor()};
  }

  void set_state(const MetricState& state) override {
    const size_t bins = angles_.bin_counts().size();
    std::vector<int64_t> counts = counts_of(state, bins + 3);
    within_11_ = counts[bins];
    within_22_ = counts[bins + 1];
    within_30_ = counts[bins + 2];
    counts.resize(bins);
    angles_.set_bin_counts(std::move(counts));
    sums_.set(state.partials);
  }

 private:
  TaskSpec task_;
  BinnedOrderStatistics angles_;
  PartialSums sums_{2};  // angle, squared angle
  int64_t within_11_ = 0;
  int64_t within_22_ = 0;
  int64_t within_30_ = 0;
};

class DepthMetric : public MetricAccumulator {
 public:
  explicit DepthMetric(TaskSpec task) : task_(std::move(task)) {}

  void add(const torch::Tensor& output, const torch::Tensor& target) override {
    check_dense_shapes(task_, output, target, 1);
    auto truth = to_cpu_double(target);
    auto valid = truth > 0;
    auto gt = truth.masked_select(valid).contiguous();
    auto predicted = to_cpu_double(output).masked_select(valid).contiguous();
    const double* g = gt.data_ptr<double>();
    const double* d = predicted.data_ptr<double>();
    double abs_err = 0;
    double abs_rel = 0;
    double squares = 0;
    for (int64_t i = 0; i < gt.numel(); ++i) {
      const double error = std::abs(d[i] - g[i]);
      abs_err += error;
      abs_rel += error / g[i];
      squares += error * error;
      within_delta_ += d[i] > 0 && std::max(d[i] / g[i], g[i] / d[i]) < kDeltaThreshold;
    }
    sums_.add_row({abs_err, abs_rel, squares});
    count_ += gt.numel();
  }

  MetricValues compute() const override {
    const auto n = static_cast<double>(count_);
    return {{"abs_err", ratio(sums_.total(0), n)},
            {"abs_rel", ratio(sums_.total(1), n)},
            {"rmse", std::sqrt(ratio(sums_.total(2), n))},
            {"delta_1.25", 100 * ratio(within_delta_, n)}};
  }

  std::map<std::string, bool> higher_is_better() const override {
    return {{"abs_err", false}, {"abs_rel", false}, {"rmse", false}, {"delta_1.25", true}};
  }

  void reset() override {
    sums_.clear();
    within_delta_ = count_ = 0;
  }

  MetricState state() const override {
    return {counts_tensor({within_delta_, count_}), sums_.tensor()};
  }

  void set_state(const MetricState& state) override {
    const auto counts = counts_of(state, 2);
    within_delta_ = counts[0];
    count_ = counts[1];
    sums_.set(state.partials);
  }

 private:
  TaskSpec task_;
  PartialSums sums_{3};  // absolute error, relative error, squared error
  int64_t within_delta_ = 0;
  int64_t count_ = 0;
};

class ClassificationMetric : public MetricAccumulator {
 public:
  explicit ClassificationMetric(TaskSpec task) : task_(std::move(task)) {}

  void add(const torch::Tensor& output, const torch::Tensor& target) override {
    check_classification_shapes(task_, output, target);
    auto labels = target.detach().to(torch::kCPU, torch::kLong);
    check_labels(task_, labels, kIgnoreClass);
    auto valid = labels != kIgnoreClass;
    auto predicted = output.detach().argmax(1).to(torch::kCPU);
    correct_ += (predicted.eq(labels) & valid).sum().item<int64_t>();
    count_ += valid.sum().item<int64_t>();
  }

  MetricValues compute() const override {
    return {{"accuracy", 100 * ratio(static_cast<double>(correct_), static_cast<double>(count_))}};
  }

  std::map<std::string, bool> higher_is_better() const override { return {{"accuracy", true}}; }

  void reset() override { correct_ = count_ = 0; }

  MetricState state() const override {
    return {counts_tensor({correct_, count_}), torch::zeros({0, 0}, torch::kDouble)};
  }

  void set_state(const MetricState& state) override {
    const auto counts = counts_of(state, 2);
    correct_ = counts[0];
    count_ = counts[1];
  }

 private:
  TaskSpec task_;
  int64_t correct_ = 0;
  int64_t count_ = 0;
};

}  // namespace

SegmentationMetric::SegmentationMetric(TaskSpec task)
    : task_(std::move(task)),
      confusion_(torch::zeros({task_.channels, task_.channels}, torch::kLong)) {}

void SegmentationMetric::add(const torch::Tensor& output, const torch::Tensor& target) {
  check_segmentation_shapes(task_, output, target);
  auto labels = target.detach().to(torch::kCPU, torch::kLong);
  check_labels(task_, labels, kIgnoreLabel);
  auto predicted = output.detach().argmax(1).to(torch::kCPU);
  auto valid = labels != kIgnoreLabel;
  const int64_t classes = task_.channels;
  auto cells = labels.masked_select(valid) * classes + predicted.masked_select(valid);
  confusion_ += torch::bincount(cells, {}, classes * classes).view({classes, classes});
}

MetricValues SegmentationMetric::compute() const {
  auto confusion = confusion_.to(torch::kDouble);
  auto hits = confusion.diagonal();
  auto unions = confusion.sum(0) + confusion.sum(1) - hits;
  auto present = unions > 0;
  const int64_t classes_present = present.sum().item<int64_t>();
  const double miou =
      classes_present > 0
          ? (hits.masked_select(present) / unions.masked_select(present)).mean().item<double>()
          : kNaN;
  return {{"miou", miou},
          {"pixel_acc", ratio(hits.sum().item<double>(), confusion.sum().item<double>())}};
}

std::map<std::string, bool> SegmentationMetric::higher_is_better() const {
  return {{"miou", true}, {"pixel_acc", true}};
}

void SegmentationMetric::reset() { confusion_.zero_(); }

MetricState SegmentationMetric::state() const {
  return {confusion_.flatten().clone(), torch::zeros({0, 0}, torch::kDouble)};
}

void SegmentationMetric::set_state(const MetricState& state) {
  const auto counts = counts_of(state, static_cast<size_t>(confusion_.numel()));
  confusion_ = torch::tensor(counts, torch::kLong).view_as(confusion_);
}

std::unique_ptr<MetricAccumulator> make_metric(const TaskSpec& task) {
  switch (task.kind) {
    case TaskKind::kSegmentation:
      return std::make_unique<SegmentationMetric>(task);
    case TaskKind::kNormals:
      return std::make_unique<NormalsMetric>(task);
    case TaskKind::kDepth:
      return std::make_unique<DepthMetric>(task);
    case TaskKind::kClassification:
      return std::make_unique<ClassificationMetric>(task);
  }
  TORCH_CHECK(false, "task '", task.name, "': unhandled task kind");
}

}  // namespace nddr
