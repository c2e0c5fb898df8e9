#include "nddr/weighting/solvers.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

#include "nddr/util/error.h"

namespace nddr {

namespace {

std::vector<double> times(const SmallMatrix& m, const std::vector<double>& x) {
  std::vector<double> y(m.n, 0.0);
  for (int64_t i = 0; i < m.n; ++i) {
    for (int64_t j = 0; j < m.n; ++j) y[i] += m(i, j) * x[j];
  }
  return y;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  return std::inner_product(a.begin(), a.end(), b.begin(), 0.0);
}

double max_diagonal(const SmallMatrix& m) {
  double largest = 0;
  for (int64_t i = 0; i < m.n; ++i) largest = std::max(largest, m(i, i));
  return largest;
}

double max_change(const std::vector<double>& a, const std::vector<double>& b) {
  double change = 0;
  for (size_t i = 0; i < a.size(); ++i) change = std::max(change, std::abs(a[i] - b[i]));
  return change;
}

}  // namespace

std::vector<double> project_to_simplex(std::vector<double> v) {
  // Sort-based projection: shift every entry by one threshold and clip at 0.
  std::vector<double> sorted = v;
  std::sort(sorted.begin(), sorted.end(), std::greater<double>());
  double cumulative = 0, threshold = 0;
  for (size_t k = 0; k < sorted.size(); ++k) {
    cumulative += sorted[k];
    const double candidate = (cumulative - 1.0) / static_cast<double>(k + 1);
    if (sorted[k] - candidate > 0) threshold = candidate;
  }
  for (double& x : v) x = std::max(0.0, x - threshold);
  return v;
}

std::vector<double> min_norm_weights(const SmallMatrix& gram) {
  const int64_t n = gram.n;
  if (n == 2) {
    // Sener & Koltun, Alg. 1: the minimiser of |a g1 + (1 - a) g2|^2 on [0, 1].
    const double denominator = gram(0, 0) + gram(1, 1) - 2 * gram(0, 1);
    const double a =
        denominator <= 0 ? 0.5 : std::clamp((gram(1, 1) - gram(0, 1)) / denominator, 0.0, 1.0);
    return {a, 1 - a};
  }
  // FISTA on the simplex: the objective is smooth with Lipschitz constant
  // 2 lambda_max(M) <= 2 trace(M).
  double trace = 0;
  for (int64_t i = 0; i < n; ++i) trace += gram(i, i);
  if (trace <= 0) return std::vector<double>(n, 1.0 / n);
  const double step = 1.0 / (2 * trace);
  std::vector<double> w(n, 1.0 / n), y = w;
  double momentum = 1;
  for (int iteration = 0; iteration < 20000; ++iteration) {
    const auto gradient = times(gram, y);
    std::vector<double> next(n);
    for (int64_t i = 0; i < n; ++i) next[i] = y[i] - step * 2 * gradient[i];
    next = project_to_simplex(next);
    const double next_momentum = (1 + std::sqrt(1 + 4 * momentum * momentum)) / 2;
    for (int64_t i = 0; i < n; ++i) {
      y[i] = next[i] + (momentum - 1) / next_momentum * (next[i] - w[i]);
    }
    const double change = max_change(next, w);
    w = next;
    momentum = next_momentum;
    if (change < 1e-15) break;
  }
  return w;
}

std::vector<double> cagrad_dual_weights(const SmallMatrix& gram, double c) {
  const int64_t n = gram.n;
  const std::vector<double> mean(n, 1.0 / n);
  const std::vector<double> b = times(gram, mean);
  const double phi = c * c * dot(mean, b);
  const double root_phi = std::sqrt(phi);
  auto objective = [&](const std::vector<double>& w) {
    return dot(w, b) + root_phi * std::sqrt(std::max(0.0, dot(w, times(gram, w))));
  };
  std::vector<double> w = mean;
  double step = 1.0 / std::max(1e-300, max_diagonal(gram));
  double value = objective(w);
  for (int iteration = 0; iteration < 20000; ++iteration) {
    const auto mw = times(gram, w);
    const double norm = std::sqrt(std::max(0.0, dot(w, mw)));
    if (norm <= 1e-300) break;  // g_w = 0: the update is g0 itself
    std::vector<double> gradient(n);
    for (int64_t i = 0; i < n; ++i) gradient[i] = b[i] + root_phi * mw[i] / norm;
    // Backtracking: shrink until the projected step decreases the objective
    // by the sufficient-decrease bound of projected gradient descent.
    std::vector<double> next;
    double next_value = 0;
    for (int tries = 0; tries < 60; ++tries, step *= 0.5) {
      next = w;
      for (int64_t i = 0; i < n; ++i) next[i] -= step * gradient[i];
      next = project_to_simplex(next);
      std::vector<double> moved(n);
      for (int64_t i = 0; i < n; ++i) moved[i] = next[i] - w[i];
      next_value = objective(next);
      if (next_value <= value + dot(gradient, moved) + dot(moved, moved) / (2 * step)) break;
    }
    const double change = max_change(next, w);
    w = next;
    value = next_value;
    step *= 2;  // let the step grow back
    if (change < 1e-15) break;
  }
  return w;
}

std::vector<double> solve_linear(SmallMatrix a, std::vector<double> b) {
  const int64_t n = a.n;
  for (int64_t col = 0; col < n; ++col) {
    int64_t pivot = col;
    for (int64_t row = col + 1; row < n; ++row) {
      if (std::abs(a(row, col)) > std::abs(a(pivot, col))) pivot = row;
    }
    if (std::abs(a(pivot, col)) < 1e-300) throw Error("singular linear system in a weighting");
    for (int64_t j = 0; j < n; ++j) std::swap(a(col, j), a(pivot, j));
    std::swap(b[col], b[pivot]);
    for (int64_t row = col + 1; row < n; ++row) {
      const double factor = a(row, col) / a(col, col);
      for (int64_t j = col; j < n; ++j) a(row, j) -= factor * a(col, j);
      b[row] -= factor * b[col];
    }
  }
  std::vector<double> x(n);
  for (int64_t row = n - 1; row >= 0; --row) {
    double sum = b[row];
    for (int64_t j = row + 1; j < n; ++j) sum -= a(row, j) * x[j];
    x[row] = sum / a(row, row);
  }
  return x;
}

std::vector<double> nash_weights(const SmallMatrix& gram, double ridge) {
  const int64_t n = gram.n;
  SmallMatrix m = gram;
  double mean_diagonal = 0;
  for (int64_t i = 0; i < n; ++i) mean_diagonal += gram(i, i) / n;
  if (mean_diagonal <= 0) return std::vector<double>(n, 1.0);  // every g_t = 0: d = 0 anyway
  for (int64_t i = 0; i < n; ++i) m(i, i) += ridge * mean_diagonal;
  auto objective = [&](const std::vector<double>& a) {
    double value = 0.5 * dot(a, times(m, a));
    for (double x : a) value -= std::log(x);
    return value;
  };
  // Start from the solution for orthogonal gradients, a_i = 1 / |g_i|.
  std::vector<double> a(n);
  for (int64_t i = 0; i < n; ++i) a[i] = 1.0 / std::sqrt(m(i, i));
  for (int iteration = 0; iteration < 200; ++iteration) {
    const auto ma = times(m, a);
    std::vector<double> gradient(n);
    SmallMatrix hessian = m;
    double residual = 0;
    for (int64_t i = 0; i < n; ++i) {
      gradient[i] = ma[i] - 1.0 / a[i];
      hessian(i, i) += 1.0 / (a[i] * a[i]);
      residual = std::max(residual, std::abs(gradient[i] * a[i]));
    }
    if (residual < 1e-14) break;
    const auto delta = solve_linear(hessian, gradient);
    // Damped: stay positive and decrease the (strictly convex) objective.
    const double value = objective(a);
    double t = 1;
    std::vector<double> next(n);
    for (int tries = 0; tries < 60; ++tries, t *= 0.5) {
      bool positive = true;
      for (int64_t i = 0; i < n; ++i) {
        next[i] = a[i] - t * delta[i];
        positive = positive && next[i] > 0;
      }
      if (positive && objective(next) <= value - 0.25 * t * dot(gradient, delta)) break;
    }
    a = next;
  }
  return a;
}

}  // namespace nddr
