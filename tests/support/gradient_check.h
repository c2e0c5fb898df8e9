#pragma once
// Central-difference gradient checks: LibTorch's C++ API has no gradcheck.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

namespace nddr::testing {

/// d loss() / d x by central differences with step `step`, element by
/// element: each element of `x` (double) is moved in place and restored.
inline torch::Tensor numeric_gradient(const std::function<torch::Tensor()>& loss,
                                      const torch::Tensor& x, double step = 1e-6) {
  torch::NoGradGuard no_grad;
  auto flat = x.detach().view(-1);
  auto numeric = torch::zeros_like(flat);
  for (int64_t i = 0; i < flat.numel(); ++i) {
    const double original = flat[i].item<double>();
    flat[i].fill_(original + step);
    const double plus = loss().item<double>();
    flat[i].fill_(original - step);
    const double minus = loss().item<double>();
    flat[i].fill_(original);
    numeric[i] = (plus - minus) / (2.0 * step);
  }
  return numeric.view_as(x);
}

/// Largest |analytic - numeric| over the elements of `input` (double
/// precision) for the scalar function `f`.
inline double max_gradient_error(const std::function<torch::Tensor(const torch::Tensor&)>& f,
                                 const torch::Tensor& input, double step = 1e-6) {
  auto x = input.detach().clone().set_requires_grad(true);
  f(x).backward();
  const auto analytic = x.grad().clone();
  const auto numeric = numeric_gradient([&] { return f(x); }, x, step);
  return (analytic - numeric).abs().max().item<double>();
}

/// Compares autograd's gradient of the scalar `loss()` with respect to every
/// element of every tensor in `wrt` (double, requires_grad) against central
/// differences with step `step`.
inline void expect_gradients_match(const std::function<torch::Tensor()>& loss,
                                   const std::vector<torch::Tensor>& wrt,
                                   const std::vector<std::string>& names, double step = 1e-6,
                                   double tolerance = 1e-6) {
  for (const auto& tensor : wrt) {
    if (tensor.grad().defined()) tensor.grad().zero_();
  }
  loss().backward();
  for (size_t t = 0; t < wrt.size(); ++t) {
    const auto analytic = wrt[t].grad().clone();
    ASSERT_TRUE(analytic.defined()) << names[t];
    const auto numeric = numeric_gradient(loss, wrt[t], step).view(-1);
    const auto analytic_flat = analytic.view(-1);
    for (int64_t i = 0; i < numeric.numel(); ++i) {
      EXPECT_NEAR(analytic_flat[i].item<double>(), numeric[i].item<double>(), tolerance)
          << names[t] << " element " << i;
    }
  }
}

}  // namespace nddr::testing
