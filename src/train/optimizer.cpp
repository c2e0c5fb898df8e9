#include "nddr/train/optimizer.h"

#include <cmath>

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

torch::optim::SGDOptions& sgd_options(torch::optim::SGD& optimizer, size_t index) {
  return static_cast<torch::optim::SGDOptions&>(optimizer.param_groups().at(index).options());
}

}  // namespace

std::unique_ptr<torch::optim::SGD> make_sgd(MultiTaskNetImpl& net, const OptimizerOptions& options,
                                            std::vector<ParamGroupInfo>& groups) {
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
                              static_cast<int64_t>(it->second.size())};
    groups.push_back(info);
    auto group_options = std::make_unique<torch::optim::SGDOptions>(info.base_lr);
    group_options->momentum(options.momentum()).weight_decay(info.weight_decay);
    param_groups.emplace_back(it->second, std::move(group_options));
  }
  return std::make_unique<torch::optim::SGD>(
      param_groups, torch::optim::SGDOptions(options.lr()).momentum(options.momentum()));
}

double poly_factor(int64_t step, int64_t steps, double power) {
  if (steps <= 0 || step >= steps) return 0.0;
  return std::pow(1.0 - static_cast<double>(step) / static_cast<double>(steps), power);
}

void apply_poly_schedule(torch::optim::SGD& optimizer, const std::vector<ParamGroupInfo>& groups,
                         int64_t step, int64_t steps, double power) {
  const double factor = poly_factor(step, steps, power);
  for (size_t i = 0; i < groups.size(); ++i)
    sgd_options(optimizer, i).lr(groups[i].base_lr * factor);
}

double group_lr(torch::optim::SGD& optimizer, size_t index) {
  return sgd_options(optimizer, index).lr();
}

}  // namespace nddr
