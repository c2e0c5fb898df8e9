#include "nddr/train/tensorboard_observer.h"

#include <algorithm>

#include "nddr/data/transforms.h"
#include "nddr/layers/nddr_layer.h"
#include "nddr/tasks/visualize.h"

namespace nddr {

TensorBoardObserver::TensorBoardObserver(const std::string& run_dir, MultiTaskNet net,
                                         Trainer& trainer, std::shared_ptr<const Dataset> test_set,
                                         const EvalLoaderOptions& eval_options, int64_t images)
    : writer_(run_dir), net_(std::move(net)), trainer_(trainer) {
  const int64_t count = test_set ? std::min(images, test_set->size()) : 0;
  for (int64_t i = 0; i < count; ++i) {
    const torch::Tensor image = test_set->get(i).image;
    images_.push_back(normalize(image, eval_options.normalize()));
    inputs_rgb_.push_back(
        image.clamp(0, 1).mul(255).round().to(torch::kByte).permute({1, 2, 0}).contiguous());
  }
}

void TensorBoardObserver::on_step(const StepReport& report) {
  std::map<std::string, double> scalars;
  for (const auto& [task, loss] : report.losses) scalars["loss/" + task] = loss;
  scalars["loss/total"] = report.total_loss;
  scalars["images_per_second"] = report.images_per_second;
  const auto& groups = trainer_.optimizer().param_groups();
  for (size_t g = 0; g < groups.size() && g < trainer_.groups().size(); ++g) {
    scalars["lr/" + to_string(trainer_.groups()[g].role)] = groups[g].options().get_lr();
  }
  writer_.add_scalars(report.step, scalars);
}

void TensorBoardObserver::on_evaluation(int64_t step, const Evaluation& evaluation) {
  std::map<std::string, double> scalars;
  for (const auto& [task, metrics] : evaluation.metrics) {
    for (const auto& [metric, value] : metrics) scalars["eval/" + task + "/" + metric] = value;
  }
  writer_.add_scalars(step, scalars);
  log_predictions(step);
  log_fusion_histograms(step);
}

void TensorBoardObserver::log_predictions(int64_t step) {
  if (!logged_inputs_) {
    for (size_t i = 0; i < inputs_rgb_.size(); ++i) {
      writer_.add_image("input/" + std::to_string(i), step, inputs_rgb_[i]);
    }
    logged_inputs_ = true;
  }
  const bool was_training = net_->is_training();
  net_->eval();
  torch::NoGradGuard no_grad;
  const auto device = net_->parameters().front().device();
  for (size_t i = 0; i < images_.size(); ++i) {
    const torch::Tensor& image = images_[i];
    const auto outputs = net_->forward(image.unsqueeze(0).to(device));
    for (const auto& task : net_->tasks()) {
      if (!is_dense(task.kind)) continue;
      const torch::Tensor output =
          upsample_to(outputs.at(task.name), image.size(1), image.size(2))[0].to(torch::kCPU);
      writer_.add_image("prediction/" + task.name + "/" + std::to_string(i), step,
                        colorize_prediction(task, output));
    }
  }
  net_->train(was_training);
}

void TensorBoardObserver::log_fusion_histograms(int64_t step) {
  const auto& tasks = net_->tasks();
  for (const auto& module : net_->named_modules()) {
    auto* layer = module.value()->as<NddrLayerImpl>();
    if (layer == nullptr) continue;
    const int64_t num_tasks = layer->options.num_tasks();
    const int64_t channels = layer->options.channels();
    for (int64_t k = 0; k < num_tasks; ++k) {
      // [C, K*C, 1, 1] -> [C, K, C]: block j holds the weights on task j's input.
      const torch::Tensor blocks = layer->conv[k]->as<torch::nn::Conv2d>()->weight.detach().view(
          {channels, num_tasks, channels});
      std::vector<torch::Tensor> others;
      for (int64_t j = 0; j < num_tasks; ++j) {
        if (j != k) others.push_back(blocks.select(1, j));
      }
      const std::string prefix = "nddr/" + module.key() + "/" + tasks[k].name;
      writer_.add_histogram(prefix + "/own", step, blocks.select(1, k));
      writer_.add_histogram(prefix + "/others", step, torch::stack(others));
    }
  }
}

}  // namespace nddr
