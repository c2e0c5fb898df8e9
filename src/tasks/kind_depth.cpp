#include <cmath>

#include "kind_support.h"
#include "nddr/io/image.h"
#include "nddr/tasks/visualize.h"
#include "nddr/util/error.h"

namespace nddr {

namespace {

constexpr double kDeltaThreshold = 1.25;

LossTerms depth_loss(const TaskSpec& task, const torch::Tensor& output,
                     const torch::Tensor& target) {
  check_dense_shapes(task, output, target, 1);
  auto truth = target.to(output.scalar_type());
  return kinds::masked_sum((output - truth).abs(), truth > 0);
}

class DepthMetric : public MetricAccumulator {
 public:
  explicit DepthMetric(TaskSpec task) : task_(std::move(task)) {}

  void add(const torch::Tensor& output, const torch::Tensor& target) override {
    check_dense_shapes(task_, output, target, 1);
    auto truth = kinds::to_cpu_double(target);
    auto valid = truth > 0;
    auto gt = truth.masked_select(valid).contiguous();
    auto predicted = kinds::to_cpu_double(output).masked_select(valid).contiguous();
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
    return {{"abs_err", kinds::ratio(sums_.total(0), n)},
            {"abs_rel", kinds::ratio(sums_.total(1), n)},
            {"rmse", std::sqrt(kinds::ratio(sums_.total(2), n))},
            {"delta_1.25", 100 * kinds::ratio(within_delta_, n)}};
  }

  std::map<std::string, bool> higher_is_better() const override {
    return {{"abs_err", false}, {"abs_rel", false}, {"rmse", false}, {"delta_1.25", true}};
  }

  void reset() override {
    sums_.clear();
    within_delta_ = count_ = 0;
  }

  MetricState state() const override {
    return {kinds::counts_tensor({within_delta_, count_}), sums_.tensor()};
  }

  void set_state(const MetricState& state) override {
    const auto counts = kinds::counts_of(state, 2);
    within_delta_ = counts[0];
    count_ = counts[1];
    sums_.set(state.partials);
  }

 private:
  TaskSpec task_;
  kinds::PartialSums sums_{3};  // absolute error, relative error, squared error
  int64_t within_delta_ = 0;
  int64_t count_ = 0;
};

torch::Tensor read_depth_png(const std::string& path, double scale) {
  const auto pixels = read_image(path);
  // 16-bit PNGs come back as int32; an 8-bit depth map cannot hold millimetres.
  if (pixels.size(2) != 1 || pixels.scalar_type() != torch::kInt) {
    throw Error("depth map '" + path + "' must be a 16-bit single-channel PNG, got " +
                std::to_string(pixels.size(2)) + " channels of " +
                (pixels.scalar_type() == torch::kByte ? "8" : "16") + " bits");
  }
  return (pixels.permute({2, 0, 1}).to(torch::kDouble) * scale).to(torch::kFloat);
}

}  // namespace

TaskKindTraits depth_kind() {
  TaskKindTraits kind;
  kind.name = "depth";
  kind.fixed_channels = 1;
  kind.target_dtype = torch::kFloat;
  kind.target_shape = kinds::map_shape(1);
  kind.invalid_value = 0.0;
  kind.flip = kinds::flip_width;
  kind.loss = depth_loss;
  kind.make_metric = [](const TaskSpec& task) { return std::make_unique<DepthMetric>(task); };
  kind.colorize = [](const torch::Tensor& output) { return colorize_depth(output); };
  kind.random_targets = [](const TaskSpec&, int64_t count, int64_t height, int64_t width) {
    return torch::rand({count, 1, height, width}) * 9.0 + 1.0;
  };
  kind.read_file = [](const std::string& path, const TaskSpec&, const TargetFileOptions& options) {
    return read_depth_png(path, options.depth_scale);
  };
  return kind;
}

}  // namespace nddr
