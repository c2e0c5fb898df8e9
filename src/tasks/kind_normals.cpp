#include <cmath>

#include "kind_support.h"
#include "nddr/io/image.h"
#include "nddr/tasks/histogram.h"
#include "nddr/tasks/visualize.h"
#include "nddr/util/error.h"

namespace nddr {

namespace {

namespace F = torch::nn::functional;

constexpr double kMaxAngleDegrees = 180.0;

LossTerms normals_loss(const TaskSpec& task, const torch::Tensor& output,
                       const torch::Tensor& target) {
  check_dense_shapes(task, output, target, 3);
  auto truth = target.to(output.scalar_type());
  auto valid = truth.abs().sum(1) > 0;
  auto cosine = (F::normalize(output, F::NormalizeFuncOptions().dim(1)) *
                 F::normalize(truth, F::NormalizeFuncOptions().dim(1)))
                    .sum(1);
  return kinds::masked_sum(1 - cosine, valid);
}

class NormalsMetric : public MetricAccumulator {
 public:
  explicit NormalsMetric(TaskSpec task)
      : task_(std::move(task)),
        angles_(0.0, kMaxAngleDegrees,
                static_cast<int64_t>(std::llround(kMaxAngleDegrees / kAngleBinDegrees))) {}

  void add(const torch::Tensor& output, const torch::Tensor& target) override {
    check_dense_shapes(task_, output, target, 3);
    auto truth = kinds::to_cpu_double(target);
    auto valid = truth.abs().sum(1) > 0;
    auto predicted = F::normalize(kinds::to_cpu_double(output), F::NormalizeFuncOptions().dim(1));
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
    return {{"mean", kinds::ratio(sums_.total(0), n)},
            {"median", angles_.median()},
            {"rmse", std::sqrt(kinds::ratio(sums_.total(1), n))},
            {"within_11.25", 100 * kinds::ratio(within_11_, n)},
            {"within_22.5", 100 * kinds::ratio(within_22_, n)},
            {"within_30", 100 * kinds::ratio(within_30_, n)}};
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
    return {kinds::counts_tensor(counts), sums_.tensor()};
  }

  void set_state(const MetricState& state) override {
    const size_t bins = angles_.bin_counts().size();
    std::vector<int64_t> counts = kinds::counts_of(state, bins + 3);
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
  kinds::PartialSums sums_{2};  // angle, squared angle
  int64_t within_11_ = 0;
  int64_t within_22_ = 0;
  int64_t within_30_ = 0;
};

torch::Tensor read_normals_png(const std::string& path) {
  const auto pixels = read_image(path);
  if (pixels.size(2) != 3 || pixels.scalar_type() != torch::kByte) {
    throw Error("normals map '" + path + "' must be an 8-bit 3-channel PNG, got " +
                std::to_string(pixels.size(2)) + " channels of " +
                (pixels.scalar_type() == torch::kByte ? "8" : "16") + " bits");
  }
  const auto chw = pixels.permute({2, 0, 1});
  const auto invalid = chw.eq(255).all(0, /*keepdim=*/true);
  return (chw.to(torch::kFloat) / 127.5f - 1.0f).masked_fill_(invalid, 0.0f);
}

// Mirroring the image mirrors the scene: a surface facing right now faces left.
torch::Tensor flip_normals(const torch::Tensor& target) {
  auto flipped = target.flip({-1});
  flipped.select(0, 0).neg_();
  return flipped;
}

}  // namespace

TaskKindTraits normals_kind() {
  TaskKindTraits kind;
  kind.name = "normals";
  kind.fixed_channels = 3;
  kind.target_dtype = torch::kFloat;
  kind.target_shape = kinds::map_shape(3);
  kind.invalid_value = 0.0;  // the zero vector
  kind.flip = flip_normals;
  kind.loss = normals_loss;
  kind.make_metric = [](const TaskSpec& task) { return std::make_unique<NormalsMetric>(task); };
  kind.colorize = [](const torch::Tensor& output) {
    return colorize_normals(F::normalize(output, F::NormalizeFuncOptions().p(2).dim(0)));
  };
  kind.random_targets = [](const TaskSpec&, int64_t count, int64_t height, int64_t width) {
    return F::normalize(torch::randn({count, 3, height, width}),
                        F::NormalizeFuncOptions().p(2).dim(1));
  };
  kind.read_file = [](const std::string& path, const TaskSpec&, const TargetFileOptions&) {
    return read_normals_png(path);
  };
  return kind;
}

}  // namespace nddr
