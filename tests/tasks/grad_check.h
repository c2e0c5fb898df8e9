#pragma once
// A central-difference gradient check: LibTorch's C++ API has no gradcheck.

#include <torch/torch.h>

#include <functional>

namespace nddr::testing {

/// Largest |analytic - numeric| over the elements of `input` (double precision)
/// for the scalar function `f`.
inline double max_gradient_error(const std::function<torch::Tensor(const torch::Tensor&)>& f,
                                 const torch::Tensor& input, double step = 1e-6) {
  auto x = input.detach().clone().set_requires_grad(true);
  f(x).backward();
  auto analytic = x.grad().clone();
  auto flat = x.detach().clone();
  auto data = flat.view({-1});
  double worst = 0;
  for (int64_t i = 0; i < data.numel(); ++i) {
    const double saved = data[i].item<double>();
    data[i] = saved + step;
    const double up = f(flat).item<double>();
    data[i] = saved - step;
    const double down = f(flat).item<double>();
    data[i] = saved;
    const double numeric = (up - down) / (2 * step);
    worst = std::max(worst, std::abs(numeric - analytic.view({-1})[i].item<double>()));
  }
  return worst;
}

}  // namespace nddr::testing
