#include "kind_support.h"
#include "nddr/io/image.h"
#include "nddr/tasks/visualize.h"
#include "nddr/util/error.h"

namespace nddr {

namespace {

LossTerms segmentation_loss(const TaskSpec& task, const torch::Tensor& output,
                            const torch::Tensor& target) {
  check_segmentation_shapes(task, output, target);
  check_labels(task, target, kIgnoreLabel);
  return kinds::masked_cross_entropy(output, target.to(torch::kLong), kIgnoreLabel);
}

// [H,W,C] -> [C,H,W], read as a single-channel file or an Error.
torch::Tensor read_single_channel(const std::string& path, const std::string& what) {
  const auto pixels = read_image(path);
  if (pixels.size(2) != 1) {
    throw Error(what + " '" + path + "' has " + std::to_string(pixels.size(2)) +
                " channels, expected 1");
  }
  return pixels.select(2, 0);
}

torch::Tensor read_label_png(const std::string& path, int64_t classes) {
  const auto labels = read_single_channel(path, "segmentation label map").to(torch::kLong);
  const auto bad = labels.ge(classes).logical_and(labels.ne(kIgnoreLabel));
  if (bad.any().item<bool>()) {
    throw Error("segmentation label map '" + path + "' holds label " +
                std::to_string(labels.masked_select(bad)[0].item<int64_t>()) + ", expected 0.." +
                std::to_string(classes - 1) + " or 255 (ignore)");
  }
  return labels;
}

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
          : kinds::kNaN;
  return {{"miou", miou},
          {"pixel_acc", kinds::ratio(hits.sum().item<double>(), confusion.sum().item<double>())}};
}

std::map<std::string, bool> SegmentationMetric::higher_is_better() const {
  return {{"miou", true}, {"pixel_acc", true}};
}

void SegmentationMetric::reset() { confusion_.zero_(); }

MetricState SegmentationMetric::state() const {
  return {confusion_.flatten().clone(), torch::zeros({0, 0}, torch::kDouble)};
}

void SegmentationMetric::set_state(const MetricState& state) {
  const auto counts = kinds::counts_of(state, static_cast<size_t>(confusion_.numel()));
  confusion_ = torch::tensor(counts, torch::kLong).view_as(confusion_);
}

TaskKindTraits segmentation_kind() {
  TaskKindTraits kind;
  kind.name = "segmentation";
  kind.target_dtype = torch::kLong;
  kind.target_shape = kinds::plane_shape;
  kind.invalid_value = static_cast<double>(kIgnoreLabel);
  kind.flip = kinds::flip_width;
  kind.loss = segmentation_loss;
  kind.make_metric = [](const TaskSpec& task) {
    return std::make_unique<SegmentationMetric>(task);
  };
  kind.colorize = [](const torch::Tensor& output) {
    return colorize_segmentation(output.argmax(0));
  };
  kind.random_targets = [](const TaskSpec& task, int64_t count, int64_t height, int64_t width) {
    return torch::randint(task.channels, {count, height, width}, torch::kLong);
  };
  kind.read_file = [](const std::string& path, const TaskSpec& task, const TargetFileOptions&) {
    return read_label_png(path, task.channels);
  };
  return kind;
}

}  // namespace nddr
