#pragma once
// Small network options shared by the MultiTaskNet and FLOP tests.

#include <string>
#include <vector>

#include "nddr/models/multitask_net.h"

namespace nddr::testing {

inline TaskSpec task(const std::string& name, TaskKind kind, int64_t channels) {
  TaskSpec spec;
  spec.name = name;
  spec.kind = kind;
  spec.channels = channels;
  return spec;
}

/// The paper's pair: 40-class segmentation and surface normals.
inline std::vector<TaskSpec> paper_tasks() {
  return {task("seg", "segmentation", 40), task("normals", "normals", 3)};
}

/// Four kinds, so K=2 and K=3 subsets mix dense and classification tasks.
inline std::vector<TaskSpec> mixed_tasks(size_t count) {
  std::vector<TaskSpec> all = {task("seg", "segmentation", 5), task("cls", "classification", 4),
                               task("depth", "depth", 1), task("normals", "normals", 3)};
  all.resize(count);
  return all;
}

inline NetworkOptions network(const std::string& backbone, double width, const std::string& method,
                              std::vector<TaskSpec> tasks, int64_t head_hidden = 16) {
  NetworkOptions options;
  options.backbone.name = backbone;
  options.backbone.width = width;
  options.tasks = std::move(tasks);
  options.fusion.method = method;
  if (method == "split") options.fusion.split_stage = 2;
  options.head_hidden = head_hidden;
  return options;
}

/// Running statistics and affine parameters of every BatchNorm moved far from
/// their initial identity, so a folding that ignored any of them would show.
inline void randomise_batchnorms(torch::nn::Module& net) {
  torch::NoGradGuard no_grad;
  for (const auto& module : net.modules()) {
    if (auto* norm = module->as<torch::nn::BatchNorm2dImpl>()) {
      norm->running_mean.uniform_(-0.5, 0.5);
      norm->running_var.uniform_(0.5, 2.0);
      norm->weight.uniform_(0.5, 1.5);
      norm->bias.uniform_(-0.3, 0.3);
    }
  }
}

inline int64_t total(const std::map<std::string, int64_t>& counts) {
  int64_t sum = 0;
  for (const auto& entry : counts) sum += entry.second;
  return sum;
}

}  // namespace nddr::testing
