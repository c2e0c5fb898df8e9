#include "nddr/train/optimizer.h"

#include <map>

#include "nddr/util/error.h"
#include "nddr/util/strings.h"

namespace nddr {

namespace {

constexpr ParamRole kRoles[] = {ParamRole::kWeight,       ParamRole::kNoDecay,
                                ParamRole::kFusionWeight, ParamRole::kFusionNoDecay,
                                ParamRole::kLastWeight,   ParamRole::kLastBias};

double lr_multiplier(ParamRole role, const OptimizerOptions& options) {
  switch (role) {
    case ParamRole::kFusionWeight:
    case ParamRole::kFusionNoDecay:
      return options.lr_mult_fusion();
    case ParamRole::kLastWeight:
      return options.lr_mult_last_weight();
    case ParamRole::kLastBias:
      return options.lr_mult_last_bias();
    default:
      return 1.0;
  }
}

double weight_decay_of(ParamRole role, const OptimizerOptions& options) {
  switch (role) {
    case ParamRole::kWeight:
    case ParamRole::kLastWeight:
      return options.weight_decay();
    case ParamRole::kFusionWeight:
      return options.weight_decay() * options.fusion_weight_decay_mult();
    default:
      return 0.0;
  }
}

void check(const OptimizerOptions& options) {
  const auto names = optimizer_names();
  if (std::find(names.begin(), names.end(), options.name()) == names.end()) {
    throw Error("unknown optimizer '" + options.name() + "'" + did_you_mean(options.name(), names) +
                "; valid: " + join(names, ", "));
  }
  if (!(options.lr() > 0)) throw Error("train.lr must be > 0, got " + std::to_string(options.lr()));
  if (options.weight_decay() < 0) {
    throw Error("train.weight_decay must be >= 0, got " + std::to_string(options.weight_decay()));
  }
  for (const auto& beta : {std::make_pair("train.betas[0]", options.beta1()),
                           std::make_pair("train.betas[1]", options.beta2())}) {
    if (beta.second < 0 || beta.second >= 1) {
      throw Error(std::string(beta.first) + " must be in [0, 1), got " +
                  std::to_string(beta.second));
    }
  }
  if (!(options.eps() > 0)) {
    throw Error("train.eps must be > 0, got " + std::to_string(options.eps()));
  }
}

// The options of one group for the chosen optimizer.
std::unique_ptr<torch::optim::OptimizerOptions> group_options(const OptimizerOptions& options,
                                                              double lr, double weight_decay) {
  const auto betas = std::make_tuple(options.beta1(), options.beta2());
  if (options.name() == "adam") {
    return std::make_unique<torch::optim::AdamOptions>(
        torch::optim::AdamOptions(lr).betas(betas).eps(options.eps()).weight_decay(weight_decay));
  }
  if (options.name() == "adamw") {
    return std::make_unique<torch::optim::AdamWOptions>(
        torch::optim::AdamWOptions(lr).betas(betas).eps(options.eps()).weight_decay(weight_decay));
  }
  return std::make_unique<torch::optim::SGDOptions>(
      torch::optim::SGDOptions(lr).momentum(options.momentum()).weight_decay(weight_decay));
}

}  // namespace

std::vector<std::string> optimizer_names() { return {"sgd", "adam", "adamw"}; }

std::unique_ptr<torch::optim::Optimizer> make_optimizer(MultiTaskNetImpl& net,
                                                        const OptimizerOptions& options,
                                                        std::vector<ParamGroupInfo>& groups,
                                                        const std::vector<torch::Tensor>& extra,
                                                        const std::string& extra_owner) {
  check(options);
  std::map<ParamRole, std::vector<torch::Tensor>> by_role;
  for (const auto& item : net.named_parameters()) {
    if (item.value().requires_grad()) by_role[net.role_of(item.key())].push_back(item.value());
  }
  groups.clear();
  std::vector<torch::optim::OptimizerParamGroup> param_groups;
  for (ParamRole role : kRoles) {
    auto it = by_role.find(role);
    if (it == by_role.end()) continue;
    const ParamGroupInfo info{role, options.lr() * lr_multiplier(role, options),
                              weight_decay_of(role, options),
                              static_cast<int64_t>(it->second.size()), ""};
    groups.push_back(info);
    param_groups.emplace_back(it->second, group_options(options, info.base_lr, info.weight_decay));
  }
  if (!extra.empty()) {
    groups.push_back(
        {ParamRole::kNoDecay, options.lr(), 0.0, static_cast<int64_t>(extra.size()), extra_owner});
    param_groups.emplace_back(extra, group_options(options, options.lr(), 0.0));
  }
  const auto defaults = group_options(options, options.lr(), options.weight_decay());
  if (options.name() == "adam") {
    return std::make_unique<torch::optim::Adam>(
        param_groups, static_cast<const torch::optim::AdamOptions&>(*defaults));
  }
  if (options.name() == "adamw") {
    return std::make_unique<torch::optim::AdamW>(
        param_groups, static_cast<const torch::optim::AdamWOptions&>(*defaults));
  }
  return std::make_unique<torch::optim::SGD>(
      param_groups, static_cast<const torch::optim::SGDOptions&>(*defaults));
}

double group_lr(torch::optim::Optimizer& optimizer, size_t index) {
  return optimizer.param_groups().at(index).options().get_lr();
}

void set_group_lr(torch::optim::Optimizer& optimizer, size_t index, double lr) {
  optimizer.param_groups().at(index).options().set_lr(lr);
}

}  // namespace nddr
