#pragma once
// The small optimisation problems of the gradient methods, on the T x T Gram
// matrix M (M[i][j] = g_i . g_j) of the per-task gradients: T is a handful,
// so they are solved in double with plain loops, to a tolerance far below
// what float gradients carry.

#include <cstdint>
#include <vector>

namespace nddr {

/// A T x T matrix, row-major.
struct SmallMatrix {
  int64_t n = 0;
  std::vector<double> values;
  double operator()(int64_t i, int64_t j) const { return values[i * n + j]; }
  double& operator()(int64_t i, int64_t j) { return values[i * n + j]; }
};

/// Euclidean projection of v onto the probability simplex {w >= 0, sum w = 1}.
std::vector<double> project_to_simplex(std::vector<double> v);

/// MGDA's min-norm point: argmin over the simplex of w^T M w (accelerated
/// projected gradient; exact for T = 2 by the closed form of Sener & Koltun).
std::vector<double> min_norm_weights(const SmallMatrix& gram);

/// CAGrad's dual: argmin over the simplex of w^T b + sqrt(phi) sqrt(w^T M w)
/// with b = M 1/T and phi = c^2 |g0|^2 (projected gradient, backtracking).
std::vector<double> cagrad_dual_weights(const SmallMatrix& gram, double c);

/// Nash-MTL's bargaining solution: the a > 0 with M a = 1/a, the minimiser
/// of a^T M a / 2 - sum log a (damped Newton; M is regularised by
/// `ridge` times its mean diagonal so that linearly dependent gradients keep
/// the problem bounded).
std::vector<double> nash_weights(const SmallMatrix& gram, double ridge = 1e-8);

/// Solves A x = b (Gaussian elimination with partial pivoting); an Error
/// when A is singular.
std::vector<double> solve_linear(SmallMatrix a, std::vector<double> b);

}  // namespace nddr
