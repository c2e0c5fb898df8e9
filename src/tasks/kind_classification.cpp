#include "kind_support.h"

namespace nddr {

namespace {

LossTerms classification_loss(const TaskSpec& task, const torch::Tensor& output,
                              const torch::Tensor& target) {
  check_classification_shapes(task, output, target);
  check_labels(task, target, kIgnoreClass);
  return kinds::masked_cross_entropy(output, target.to(torch::kLong), kIgnoreClass);
}

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
    return {{"accuracy",
             100 * kinds::ratio(static_cast<double>(correct_), static_cast<double>(count_))}};
  }

  std::map<std::string, bool> higher_is_better() const override { return {{"accuracy", true}}; }

  void reset() override { correct_ = count_ = 0; }

  MetricState state() const override {
    return {kinds::counts_tensor({correct_, count_}), torch::zeros({0, 0}, torch::kDouble)};
  }

  void set_state(const MetricState& state) override {
    const auto counts = kinds::counts_of(state, 2);
    correct_ = counts[0];
    count_ = counts[1];
  }

 private:
  TaskSpec task_;
  int64_t correct_ = 0;
  int64_t count_ = 0;
};

}  // namespace

TaskKindTraits classification_kind() {
  TaskKindTraits kind;
  kind.name = "classification";
  kind.dense = false;
  kind.target_dtype = torch::kLong;
  kind.target_shape = [](int64_t, int64_t) { return std::vector<int64_t>{}; };
  kind.invalid_value = static_cast<double>(kIgnoreClass);
  kind.flip = [](const torch::Tensor& target) { return target; };
  kind.loss = classification_loss;
  kind.make_metric = [](const TaskSpec& task) {
    return std::make_unique<ClassificationMetric>(task);
  };
  kind.random_targets = [](const TaskSpec& task, int64_t count, int64_t, int64_t) {
    return torch::randint(task.channels, {count}, torch::kLong);
  };
  return kind;
}

}  // namespace nddr
