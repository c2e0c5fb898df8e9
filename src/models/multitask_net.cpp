#include "nddr/models/multitask_net.h"

#include <algorithm>
#include <set>

#include "nddr/layers/cross_stitch.h"
#include "nddr/layers/nddr_layer.h"
#include "nddr/models/heads.h"
#include "nddr/models/shortcut.h"
#include "nddr/util/error.h"
#include "nddr/util/strings.h"

namespace nddr {

namespace {

enum class Method { kSingle, kSplit, kCrossStitch, kNddr, kNddrShortcut, kSluice };

Method parse_method(const std::string& name) {
  const auto names = fusion_methods();
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<Method>(i);
  }
  throw Error("unknown fusion method '" + name + "'" + did_you_mean(name, names) +
              "; valid: " + join(names, ", "));
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Shortcut and sluice units belong to the fusion part (LR multiplier, counts).
bool is_fusion_parameter(const std::string& name) {
  return starts_with(name, "fusion.") || starts_with(name, "shortcut.");
}

// The stages after which fusion layers sit: sorted, unique, valid.
std::vector<int64_t> fusion_positions(const FusionOptions& fusion, int64_t num_stages,
                                      const std::string& backbone) {
  if (fusion.positions.empty()) {
    std::vector<int64_t> all(num_stages);
    for (int64_t s = 0; s < num_stages; ++s) all[s] = s;
    return all;
  }
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
  return {unique.begin(), unique.end()};
}

torch::nn::AnyModule make_fusion_layer(Method method, const FusionOptions& fusion,
                                       int64_t num_tasks, int64_t channels) {
  if (method == Method::kCrossStitch || method == Method::kSluice) {
    return torch::nn::AnyModule(CrossStitch(CrossStitchOptions(num_tasks, channels)
                                                .per_channel(fusion.per_channel)
                                                .init(fusion.init)
                                                .alpha(fusion.alpha)
                                                .beta(fusion.beta)));
  }
  return torch::nn::AnyModule(NddrLayer(NddrLayerOptions(num_tasks, channels)
                                            .init(fusion.init)
                                            .alpha(fusion.alpha)
                                            .beta(fusion.beta)
                                            .batch_norm(fusion.batch_norm)
                                            .relu(fusion.relu)));
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

}  // namespace

std::vector<std::string> fusion_methods() {
  return {"single", "split", "cross_stitch", "nddr", "nddr_shortcut", "sluice"};
}

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
  const Method method = parse_method(fusion.method);
  const int64_t num_tasks = static_cast<int64_t>(options_.tasks.size());
  const bool fuses = method != Method::kSingle && method != Method::kSplit;
  if (fuses && num_tasks < 2) {
    throw Error("fusion method '" + fusion.method + "' needs at least 2 tasks, got " +
                std::to_string(num_tasks));
  }
  if (options_.head_hidden < 1 || options_.head_dilation < 1) {
    throw Error("head_hidden and head_dilation must be >= 1, got " +
                std::to_string(options_.head_hidden) + " and " +
                std::to_string(options_.head_dilation));
  }
  if (options_.head_dropout < 0 || options_.head_dropout >= 1) {
    throw Error("head_dropout must be in [0, 1), got " + std::to_string(options_.head_dropout));
  }
  backbone_ = make_backbone(options_.backbone);
  const auto& stages = backbone_->stages();
  const int64_t num_stages = backbone_->num_stages();

  int64_t first_task_stage = 0;
  if (method == Method::kSplit) {
    if (fusion.split_stage < 1 || fusion.split_stage > num_stages) {
      throw Error("fusion.split_stage must be in [1, " + std::to_string(num_stages) +
                  "] for backbone '" + options_.backbone.name + "', got " +
                  std::to_string(fusion.split_stage));
    }
    first_task_stage = fusion.split_stage;
    shared_ = register_module("shared", backbone_->make_column(0, first_task_stage));
  }
  if (!fuses && !fusion.positions.empty()) {
    throw Error("fusion.positions is not used by fusion method '" + fusion.method +
                "'; leave it empty");
  }
  if (fuses) fusion_after_ = fusion_positions(fusion, num_stages, options_.backbone.name);
  const bool merges_stages = method == Method::kNddrShortcut || method == Method::kSluice;
  if (merges_stages && fusion_after_.back() != num_stages - 1) {
    throw Error("fusion method '" + fusion.method +
                "' feeds the heads from the last fused stage, so fusion.positions must include "
                "the last stage " +
                std::to_string(num_stages - 1) + "; got last position " +
                std::to_string(fusion_after_.back()));
  }

  if (first_task_stage < num_stages) {
    auto columns = register_module("columns", std::make_shared<torch::nn::Module>());
    for (const auto& task : options_.tasks) {
      columns_.push_back(columns->register_module(
          task.name, backbone_->make_column(first_task_stage, num_stages)));
    }
  }

  if (fuses) {
    auto layers = register_module("fusion", std::make_shared<torch::nn::Module>());
    for (size_t i = 0; i < fusion_after_.size(); ++i) {
      auto layer = make_fusion_layer(method, fusion, num_tasks, stages[fusion_after_[i]].channels);
      layers->register_module(std::to_string(i), layer.ptr());
      fusion_.push_back(std::move(layer));
    }
  }

  const int64_t feature_channels = stages.back().channels;
  if (merges_stages) {
    std::vector<int64_t> merged_channels;
    for (int64_t position : fusion_after_) merged_channels.push_back(stages[position].channels);
    auto shortcut = register_module("shortcut", std::make_shared<torch::nn::Module>());
    for (const auto& task : options_.tasks) {
      StageMergeOptions merge(merged_channels, feature_channels);
      torch::nn::AnyModule unit = method == Method::kSluice
                                      ? torch::nn::AnyModule(SluiceOutput(merge))
                                      : torch::nn::AnyModule(NddrShortcut(merge));
      shortcut->register_module(task.name, unit.ptr());
      shortcut_.push_back(std::move(unit));
    }
  }

  auto heads = register_module("heads", std::make_shared<torch::nn::Module>());
  for (const auto& task : options_.tasks) {
    auto head = make_head(task, options_, feature_channels);
    heads->register_module(task.name, head.ptr());
    heads_.push_back(std::move(head));
  }

  // Roles by owning module: BatchNorm parameters and biases are not decayed.
  for (const auto& module : named_modules(/*name_prefix=*/"", /*include_self=*/false)) {
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
      roles_[name] = role;
    }
  }
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
