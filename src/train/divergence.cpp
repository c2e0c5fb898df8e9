#include "nddr/train/divergence.h"

#include <cmath>
#include <sstream>

namespace nddr {

namespace {

bool all_finite(const torch::Tensor& tensor) {
  if (!tensor.is_floating_point()) return true;
  return torch::isfinite(tensor).all().item<bool>();
}

}  // namespace

std::string non_finite_loss(const std::map<std::string, double>& losses) {
  for (const auto& [task, loss] : losses) {
    if (!std::isfinite(loss)) {
      std::ostringstream text;
      text << "task '" << task << "' loss is " << loss;
      return text.str();
    }
  }
  return "";
}

std::string non_finite_gradient(const torch::nn::Module& module) {
  // NaN and Inf survive a sum (Inf - Inf is NaN), so one sum of sums tells
  // whether any gradient is bad.
  std::vector<torch::Tensor> sums;
  for (const auto& parameter : module.parameters()) {
    if (parameter.grad().defined()) sums.push_back(parameter.grad().sum());
  }
  if (sums.empty() || std::isfinite(torch::stack(sums).sum().item<double>())) return "";
  for (const auto& item : module.named_parameters()) {
    const auto& grad = item.value().grad();
    if (grad.defined() && !all_finite(grad)) {
      return "the gradient of '" + item.key() + "' is not finite";
    }
  }
  // Finite values whose sum overflowed: gradients beyond float range.
  return "the gradients overflow (their sum is not finite)";
}

std::string non_finite_weight(const torch::nn::Module& module) {
  for (const auto& item : module.named_parameters()) {
    if (!all_finite(item.value())) return "'" + item.key() + "' is not finite";
  }
  for (const auto& item : module.named_buffers()) {
    if (!all_finite(item.value())) return "'" + item.key() + "' is not finite";
  }
  return "";
}

}  // namespace nddr
