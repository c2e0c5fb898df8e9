#pragma once
// Registration of the built-in methods, one file per family, and the helpers
// they share.

#include <random>
#include <vector>

#include "nddr/weighting/solvers.h"
#include "nddr/weighting/weighting.h"

namespace nddr {

void register_loss_weightings(Registry<WeightingFactory>& registry);
void register_gradient_weightings(Registry<WeightingFactory>& registry);

/// A generator that is a pure function of (seed, step, stream): resumed and
/// distributed runs draw the same numbers.
std::mt19937_64 step_generator(int64_t seed, int64_t step, uint64_t stream);

/// A [T] double CPU tensor as a vector and back; a [T,T] Gram as a SmallMatrix.
std::vector<double> to_vector(const torch::Tensor& tensor);
torch::Tensor to_tensor(const std::vector<double>& values);
SmallMatrix to_matrix(const torch::Tensor& gram);

}  // namespace nddr
