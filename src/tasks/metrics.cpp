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
    for (int64_t i = 0; i < angles.numel(); ++i) {
      const double a = data[i];
      sum_ += a;
      sum_squares_ += a * a;
      within_11_ += a < 11.25;
      within_22_ += a < 22.5;
      within_30_ += a < 30.0;
    }
    angles_.add(data, angles.numel());
  }

  MetricValues compute() const override {
    const auto n = static_cast<double>(angles_.count());
    return {{"mean", ratio(sum_, n)},
            {"median", angles_.median()},
            {"rmse", std::sqrt(ratio(sum_squares_, n))},
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
    sum_ = sum_squares_ = 0;
    within_11_ = within_22_ = within_30_ = 0;
  }

 private:
  TaskSpec task_;
  BinnedOrderStatistics angles_;
  double sum_ = 0;
  double sum_squares_ = 0;
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
    for (int64_t i = 0; i < gt.numel(); ++i) {
      const double error = std::abs(d[i] - g[i]);
      abs_err_ += error;
      abs_rel_ += error / g[i];
      squares_ += error * error;
      within_delta_ += d[i] > 0 && std::max(d[i] / g[i], g[i] / d[i]) < kDeltaThreshold;
    }
    count_ += gt.numel();
  }

  MetricValues compute() const override {
    const auto n = static_cast<double>(count_);
    return {{"abs_err", ratio(abs_err_, n)},
            {"abs_rel", ratio(abs_rel_, n)},
            {"rmse", std::sqrt(ratio(squares_, n))},
            {"delta_1.25", 100 * ratio(within_delta_, n)}};
  }

  std::map<std::string, bool> higher_is_better() const override {
    return {{"abs_err", false}, {"abs_rel", false}, {"rmse", false}, {"delta_1.25", true}};
  }

  void reset() override {
    abs_err_ = abs_rel_ = squares_ = 0;
    within_delta_ = count_ = 0;
  }

 private:
  TaskSpec task_;
  double abs_err_ = 0;
  double abs_rel_ = 0;
  double squares_ = 0;
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
