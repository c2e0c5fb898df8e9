#pragma once
// Central-difference gradient check: LibTorch's C++ API has no gradcheck.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

namespace nddr::testing {

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
    auto flat = wrt[t].detach().view(-1);
    const auto analytic_flat = analytic.view(-1);
    for (int64_t i = 0; i < flat.numel(); ++i) {
      const double original = flat[i].item<double>();
      double plus = 0.0;
      double minus = 0.0;
      {
        torch::NoGradGuard no_grad;
        flat[i].fill_(original + step);
        plus = loss().item<double>();
        flat[i].fill_(original - step);
        minus = loss().item<double>();
        flat[i].fill_(original);
      }
      const double numeric = (plus - minus) / (2.0 * step);
      EXPECT_NEAR(analytic_flat[i].item<double>(), numeric, tolerance)
          << names[t] << " element " << i;
    }
  }
}

}  // namespace nddr::testing
