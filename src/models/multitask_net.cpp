#include "nddr/models/multitask_net.h"

#include <functional>
#include <numeric>
#include <set>

#include "nddr/models/fusion_method.h"
#include "nddr/models/heads.h"
#include "nddr/util/error.h"
#include "nddr/util/strings.h"

namespace nddr {

namespace {

// Shortcut and sluice units belong to the fusion part (LR multiplier, counts).
bool is_fusion_parameter(const std::string& name) {
  return starts_with(name, "fusion.") || starts_with(name, "shortcut.");
}

// The stages after which fusion layers sit: sorted, unique, valid; empty for
// a method that does not fuse.
std::vector<int64_t> fused_stages(const FusionMethod& method, const FusionOptions& fusion,
                                  int64_t num_tasks, int64_t num_stages,
                                  const std::string& backbone) {
  if (!method.fuses) {
    if (!fusion.positions.empty()) {
      throw Error("fusion.positions is not used by fusion method '" + fusion.method +
                  "'; leave it empty");
    }
    return {};
  }
  if (num_tasks < 2) {
    throw Error("fusion method '" + fusion.method + "' needs at least 2 tasks, got " +
                std::to_string(num_tasks));
  }
  std::vector<int64_t> positions(num_stages);
  std::iota(positions.begin(), positions.end(), 0);
  if (!fusion.positions.empty()) {
    std::set<int64_t> unique;
    for (int64_t position : fusion.positions) {
      if (position < 0 || position >= num_stages) {
        throw Error("fusion.positions: " + std::to_string(position) + " is not a stage of '" +
                    backbone + "' (valid: 0.." + std::to_string(num_stages - 1) + ")");
      }
      if (!unique.insert(position).second) {
        throw Error("fusion.positions: stage " + std::to_string(position) + " is listed twice");
      }
    }
    positions.assign(unique.begin(), unique.end());
  }
  if (method.merges_stages && positions.back() != num_stages - 1) {
    throw Error("fusion method '" + fusion.method +
                "' feeds the heads from the last fused stage, so fusion.positions must include "
                "the last stage " +
                std::to_string(num_stages - 1) + "; got last position " +
                std::to_string(positions.back()));
  }
  return positions;
}

void check_head_options(const NetworkOptions& options) {
  if (options.head_hidden < 1 || options.head_dilation < 1) {
    throw Error("head_hidden and head_dilation must be >= 1, got " +
                std::to_string(options.head_hidden) + " and " +
                std::to_string(options.head_dilation));
  }
  if (options.head_dropout < 0 || options.head_dropout >= 1) {
    throw Error("head_dropout must be in [0, 1), got " + std::to_string(options.head_dropout));
  }
}

torch::nn::AnyModule make_head(const TaskSpec& task, const NetworkOptions& options,
                               int64_t in_channels) {
  if (!is_dense(task.kind)) {
    return torch::nn::AnyModule(ClassificationHead(
        ClassificationHeadOptions(in_channels, task.channels).dropout(options.head_dropout)));
  }
  return torch::nn::AnyModule(LargeFovHead(LargeFovHeadOptions(in_channels, task.channels)
                                               .hidden(options.head_hidden)
                                               .dilation(options.head_dilation)
                                               .dropout(options.head_dropout)));
}

// Registers `count` modules made by `make` as <group>.<key(i)> under `net`,
// creating each just before registering it (the order fixes the random init).
std::vector<torch::nn::AnyModule> register_group(
    torch::nn::Module& net, const std::string& group, size_t count,
    const std::function<std::string(size_t)>& key,
    const std::function<torch::nn::AnyModule(size_t)>& make) {
  auto parent = net.register_module(group, std::make_shared<torch::nn::Module>());
  std::vector<torch::nn::AnyModule> modules;
  for (size_t i = 0; i < count; ++i) {
    modules.push_back(make(i));
    parent->register_module(key(i), modules.back().ptr());
  }
  return modules;
}

// Roles by owning module: BatchNorm parameters and biases are not decayed.
std::map<std::string, ParamRole> parameter_roles(const torch::nn::Module& net) {
  std::map<std::string, ParamRole> roles;
  for (const auto& module : net.named_modules(/*name_prefix=*/"", /*include_self=*/false)) {
    const bool batch_norm = module.value()->as<torch::nn::BatchNorm2dImpl>() != nullptr;
    for (const auto& parameter : module.value()->named_parameters(/*recurse=*/false)) {
      const std::string name = module.key() + "." + parameter.key();
      const bool no_decay = batch_norm || parameter.key() == "bias";
      ParamRole role = no_decay ? ParamRole::kNoDecay : ParamRole::kWeight;
      if (is_fusion_parameter(name)) {
        role = no_decay ? ParamRole::kFusionNoDecay : ParamRole::kFusionWeight;
      } else if (starts_with(name, "heads.") && ends_with(module.key(), ".fc8")) {
        role = parameter.key() == "bias" ? ParamRole::kLastBias : ParamRole::kLastWeight;
      }
      roles[name] = role;
    }
  }
  return roles;
}

}  // namespace

std::string to_string(ParamRole role) {
  switch (role) {
    case ParamRole::kWeight:
      return "weight";
    case ParamRole::kNoDecay:
      return "no_decay";
    case ParamRole::kFusionWeight:
      return "fusion_weight";
    case ParamRole::kFusionNoDecay:
      return "fusion_no_decay";
    case ParamRole::kLastWeight:
      return "last_weight";
    case ParamRole::kLastBias:
      return "last_bias";
  }
  TORCH_CHECK(false, "unhandled ParamRole ", static_cast<int>(role));
}

MultiTaskNetImpl::MultiTaskNetImpl(NetworkOptions options) : options_(std::move(options)) {
  validate_tasks(options_.tasks);
  const FusionOptions& fusion = options_.fusion;
  const FusionMethod& method = fusion_method_registry().get(fusion.method);
  const auto& tasks = options_.tasks;
  const size_t num_tasks = tasks.size();
  check_head_options(options_);
  backbone_ = make_backbone(options_.backbone);
  const auto& stages = backbone_->stages();
  const int64_t num_stages = backbone_->num_stages();
  const std::string& backbone = options_.backbone.name;
  const int64_t first_task_stage = method.shared_stages(fusion, num_stages, backbone);
  fusion_after_ =
      fused_stages(method, fusion, static_cast<int64_t>(num_tasks), num_stages, backbone);
  const auto task_name = [&](size_t k) { return tasks[k].name; };

  if (first_task_stage > 0) {
    shared_ = register_module("shared", backbone_->make_column(0, first_task_stage));
  }
  if (first_task_stage < num_stages) {
    auto columns = register_module("columns", std::make_shared<torch::nn::Module>());
    for (const auto& task : tasks) {
      columns_.push_back(columns->register_module(
          task.name, backbone_->make_column(first_task_stage, num_stages)));
    }
  }
  if (method.fuses) {
    fusion_ = register_group(
        *this, "fusion", fusion_after_.size(), [](size_t i) { return std::to_string(i); },
        [&](size_t i) {
          return method.make_layer(fusion, static_cast<int64_t>(num_tasks),
                                   stages[fusion_after_[i]].channels);
        });
  }
  const int64_t feature_channels = stages.back().channels;
  if (method.merges_stages) {
    std::vector<int64_t> merged_channels;
    for (int64_t position : fusion_after_) merged_channels.push_back(stages[position].channels);
    shortcut_ = register_group(*this, "shortcut", num_tasks, task_name, [&](size_t) {
      return method.make_merge(StageMergeOptions(merged_channels, feature_channels));
    });
  }
  heads_ = register_group(*this, "heads", num_tasks, task_name, [&](size_t k) {
    return make_head(tasks[k], options_, feature_channels);
  });
  roles_ = parameter_roles(*this);
}

std::map<std::string, torch::Tensor> MultiTaskNetImpl::forward(const torch::Tensor& images) {
  return forward(images, nullptr);
}

std::map<std::string, torch::Tensor> MultiTaskNetImpl::forward(const torch::Tensor& images,
                                                               torch::Tensor* shared_features) {
  TORCH_CHECK(images.dim() == 4, "MultiTaskNet expects images [N,C,H,W], got ", images.sizes());
  const size_t num_tasks = options_.tasks.size();
  std::vector<torch::Tensor> features(num_tasks, shared_ ? shared_->forward(images) : images);
  if (shared_features != nullptr) *shared_features = shared_ ? features.front() : torch::Tensor();
  // fused[i][k]: task k's output of the i-th fusion layer, kept for the shortcut.
  std::vector<std::vector<torch::Tensor>> fused;
  size_t next_fusion = 0;
  if (!columns_.empty()) {
    for (int64_t s = columns_.front()->first_stage(); s < backbone_->num_stages(); ++s) {
      for (size_t k = 0; k < num_tasks; ++k) {
        features[k] = columns_[k]->forward_stage(s, features[k]);
      }
      if (next_fusion < fusion_after_.size() && fusion_after_[next_fusion] == s) {
        features = fusion_[next_fusion++].forward<std::vector<torch::Tensor>>(features);
        if (!shortcut_.empty()) fused.push_back(features);
      }
    }
  }
  std::map<std::string, torch::Tensor> outputs;
  for (size_t k = 0; k < num_tasks; ++k) {
    torch::Tensor x = features[k];
    if (!shortcut_.empty()) {
      std::vector<torch::Tensor> stages;
      for (const auto& layer_outputs : fused) stages.push_back(layer_outputs[k]);
      x = shortcut_[k].forward(stages);
    }
    outputs[options_.tasks[k].name] = heads_[k].forward(x);
  }
  return outputs;
}

ParamRole MultiTaskNetImpl::role_of(const std::string& parameter_name) const {
  auto it = roles_.find(parameter_name);
  if (it == roles_.end()) {
    std::vector<std::string> names;
    for (const auto& entry : roles_) names.push_back(entry.first);
    throw Error("no parameter named '" + parameter_name + "' in the network" +
                did_you_mean(parameter_name, names));
  }
  return it->second;
}

std::map<std::string, int64_t> MultiTaskNetImpl::parameter_counts() const {
  std::map<std::string, int64_t> counts = {{"backbone", 0}, {"fusion", 0}, {"heads", 0}};
  for (const auto& parameter : named_parameters()) {
    const std::string& name = parameter.key();
    std::string part = "backbone";
    if (starts_with(name, "heads.")) part = "heads";
    if (is_fusion_parameter(name)) part = "fusion";
    counts[part] += parameter.value().numel();
  }
  return counts;
}

torch::Tensor upsample_to(const torch::Tensor& logits, int64_t height, int64_t width) {
  TORCH_CHECK(logits.dim() == 4, "upsample_to expects dense logits [N,C,h,w], got ",
              logits.sizes());
  return torch::nn::functional::interpolate(logits, torch::nn::functional::InterpolateFuncOptions()
                                                        .size(std::vector<int64_t>{height, width})
                                                        .mode(torch::kBilinear)
                                                        .align_corners(false));
}

}  // namespace nddr
