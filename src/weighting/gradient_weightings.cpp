// The gradient-based methods. Each returns weights a with the shared
// parameters' update d = sum_t a_t g_t, computed from the Gram matrix
// M = G G^T of the per-task gradients (double, T x T).
#include <cmath>
#include <numeric>

#include "methods.h"
#include "nddr/util/error.h"
#include "option_reader.h"

namespace nddr {

namespace {

std::vector<double> norms_of(const SmallMatrix& m) {
  std::vector<double> norms(m.n);
  for (int64_t i = 0; i < m.n; ++i) norms[i] = std::sqrt(std::max(0.0, m(i, i)));
  return norms;
}

class GradientWeighting : public Weighting {
 public:
  using Weighting::Weighting;
  bool uses_gradients() const override { return true; }
  torch::Tensor gradient_weights(const torch::Tensor& gram, const torch::Tensor& values,
                                 const WeightingContext& context) final {
    TORCH_CHECK(gram.sizes() == torch::IntArrayRef({num_tasks_, num_tasks_}),
                "gradient_weights: expected a ", num_tasks_, "x", num_tasks_, " Gram matrix, got ",
                gram.sizes());
    const torch::Tensor weights = to_tensor(solve(to_matrix(gram), to_vector(values), context));
    record(weights);
    return weights;
  }

 protected:
  virtual std::vector<double> solve(const SmallMatrix& m, const std::vector<double>& losses,
                                    const WeightingContext& context) = 0;
};

// GradNorm (Chen et al., ICML 2018): learned task weights w (sum T) pull each
// weighted gradient norm w_t |g_t| towards mean_i(w_i |g_i|) r_t^alpha, with
// r_t = (L_t / L_t(0)) / mean_i(L_i / L_i(0)) and the target held constant:
// w <- w - lr sign(w_t |g_t| - target_t) |g_t|, then renormalised to sum T.
// The norms are those of the whole shared gradient (the paper's last shared
// layer is one choice of W; the full matrix is at hand anyway). The update
// uses the weights from before this step's change.
class GradNorm : public GradientWeighting {
 public:
  GradNorm(int64_t num_tasks, double alpha, double lr)
      : GradientWeighting(num_tasks), alpha_(alpha), lr_(lr) {
    const auto options = torch::TensorOptions().dtype(torch::kDouble);
    task_weights_ = register_buffer("task_weights", torch::ones({num_tasks}, options));
    initial_ = register_buffer("initial_losses", torch::zeros({num_tasks}, options));
    has_initial_ = register_buffer("has_initial", torch::zeros({}, torch::kLong));
  }

 protected:
  std::vector<double> solve(const SmallMatrix& m, const std::vector<double>& losses,
                            const WeightingContext& /*context*/) override {
    if (has_initial_.item<int64_t>() == 0) {
      initial_.copy_(to_tensor(losses));
      has_initial_.fill_(1);
    }
    const std::vector<double> w = to_vector(task_weights_);
    const std::vector<double> initial = to_vector(initial_);
    const auto norms = norms_of(m);
    const int64_t n = num_tasks_;
    std::vector<double> weighted(n), ratio(n);
    for (int64_t t = 0; t < n; ++t) {
      weighted[t] = w[t] * norms[t];
      ratio[t] = losses[t] / std::max(1e-12, initial[t]);
    }
    const double mean_norm = std::accumulate(weighted.begin(), weighted.end(), 0.0) / n;
    const double mean_ratio = std::accumulate(ratio.begin(), ratio.end(), 0.0) / n;
    std::vector<double> next(n);
    double sum = 0;
    for (int64_t t = 0; t < n; ++t) {
      const double target = mean_norm * std::pow(ratio[t] / std::max(1e-12, mean_ratio), alpha_);
      const double difference = weighted[t] - target;
      const double sign = difference > 0 ? 1.0 : (difference < 0 ? -1.0 : 0.0);
      next[t] = std::max(0.0, w[t] - lr_ * sign * norms[t]);
      sum += next[t];
    }
    for (auto& x : next) x = sum > 0 ? x * n / sum : 1.0;
    task_weights_.copy_(to_tensor(next));
    return w;
  }

 private:
  double alpha_, lr_;
  torch::Tensor task_weights_, initial_, has_initial_;
};

// MGDA (Sener & Koltun, NeurIPS 2018): the min-norm point of the convex hull
// of the (normalised) task gradients; its weights scale the raw gradients.
// mode=representation is MGDA-UB. Normalisation: none, l2 (|g_t|), loss
// (L_t) or loss+ (L_t |g_t|).
class Mgda : public GradientWeighting {
 public:
  Mgda(int64_t num_tasks, std::string normalize)
      : GradientWeighting(num_tasks), normalize_(std::move(normalize)) {}

 protected:
  std::vector<double> solve(const SmallMatrix& m, const std::vector<double>& losses,
                            const WeightingContext& /*context*/) override {
    const auto norms = norms_of(m);
    std::vector<double> scale(m.n, 1.0);
    for (int64_t t = 0; t < m.n; ++t) {
      if (normalize_ == "l2") scale[t] = norms[t];
      if (normalize_ == "loss") scale[t] = losses[t];
      if (normalize_ == "loss+") scale[t] = losses[t] * norms[t];
      scale[t] = std::max(scale[t], 1e-12);
    }
    SmallMatrix normalized = m;
    for (int64_t i = 0; i < m.n; ++i) {
      for (int64_t j = 0; j < m.n; ++j) normalized(i, j) /= scale[i] * scale[j];
    }
    return min_norm_weights(normalized);
  }

 private:
  std::string normalize_;
};

// PCGrad (Yu et al., NeurIPS 2020): each g_i is projected, in a random order
// of the other tasks, onto the normal plane of every g_j it conflicts with
// (g_i' . g_j < 0); d = sum_i g_i'. Each g_i' is tracked as coefficients over
// the rows of G, so the dot products come from M. The order is drawn from
// (seed, step).
class PcGrad : public GradientWeighting {
 public:
  using GradientWeighting::GradientWeighting;

 protected:
  std::vector<double> solve(const SmallMatrix& m, const std::vector<double>& /*losses*/,
                            const WeightingContext& context) override {
    const int64_t n = m.n;
    auto generator = step_generator(context.seed, context.step, /*stream=*/2);
    std::vector<double> a(n, 0.0);
    for (int64_t i = 0; i < n; ++i) {
      std::vector<double> c(n, 0.0);  // g_i' = sum_k c_k g_k
      c[i] = 1;
      std::vector<int64_t> order;
      for (int64_t j = 0; j < n; ++j) {
        if (j != i) order.push_back(j);
      }
      for (size_t k = order.size(); k > 1; --k) {  // Fisher-Yates
        std::swap(order[k - 1], order[generator() % k]);
      }
      for (int64_t j : order) {
        double projection = 0;
        for (int64_t k = 0; k < n; ++k) projection += c[k] * m(k, j);
        if (projection < 0 && m(j, j) > 0) c[j] -= projection / m(j, j);
      }
      for (int64_t k = 0; k < n; ++k) a[k] += c[k];
    }
    return a;
  }
};

// CAGrad (Liu et al., NeurIPS 2021): d = argmax_d min_i g_i . d subject to
// |d - g0| <= c |g0|, g0 the mean gradient; by its dual, with w the
// minimiser over the simplex of g_w . g0 + sqrt(phi) |g_w|, phi = c^2 |g0|^2,
// d = g0 + sqrt(phi) / |g_w| g_w (the paper's Algorithm 1, no rescaling).
class CaGrad : public GradientWeighting {
 public:
  CaGrad(int64_t num_tasks, double c) : GradientWeighting(num_tasks), c_(c) {}

 protected:
  std::vector<double> solve(const SmallMatrix& m, const std::vector<double>& /*losses*/,
                            const WeightingContext& /*context*/) override {
    const int64_t n = m.n;
    const auto w = cagrad_dual_weights(m, c_);
    double g0_norm2 = 0, gw_norm2 = 0;
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        g0_norm2 += m(i, j) / (n * n);
        gw_norm2 += w[i] * w[j] * m(i, j);
      }
    }
    std::vector<double> a(n, 1.0 / n);
    if (gw_norm2 <= 1e-300) return a;
    const double coefficient = c_ * std::sqrt(std::max(0.0, g0_norm2)) / std::sqrt(gw_norm2);
    for (int64_t i = 0; i < n; ++i) a[i] += coefficient * w[i];
    return a;
  }

 private:
  double c_;
};

// IMTL (Liu et al., ICLR 2021). IMTL-G: the combination d = sum a_t g_t,
// sum a = 1, whose projections onto every unit gradient u_t are equal. With
// rows D_t = g_1 - g_t and U_t = u_1 - u_t (t = 2..T):
// a_{2..T} = g_1 U^T (D U^T)^-1. IMTL-L (loss_scale, on by default: the
// paper's hybrid): the gradients are those of e^s_t L_t - s_t, with s_t
// learned by gradient descent like any task-specific parameter. When D U^T
// is singular (parallel or zero gradients) a = 1/T.
class Imtl : public GradientWeighting {
 public:
  // One scalar parameter per task: each is then reached by its own task
  // only and counts as task-specific (weighting/backward.h).
  Imtl(int64_t num_tasks, bool loss_scale) : GradientWeighting(num_tasks) {
    for (int64_t t = 0; loss_scale && t < num_tasks; ++t) {
      scales_.push_back(register_parameter("log_scale_" + std::to_string(t), torch::zeros({})));
    }
  }

  std::vector<torch::Tensor> transform_losses(const std::vector<torch::Tensor>& losses) override {
    if (scales_.empty()) return losses;
    std::vector<torch::Tensor> scaled;
    for (size_t t = 0; t < losses.size(); ++t) {
      const torch::Tensor s = scales_[t].to(losses[t].options());
      scaled.push_back(torch::exp(s) * losses[t] - s);
    }
    return scaled;
  }

 protected:
  std::vector<double> solve(const SmallMatrix& m, const std::vector<double>& /*losses*/,
                            const WeightingContext& /*context*/) override {
    const int64_t n = m.n;
    if (n == 1) return {1.0};
    auto norms = norms_of(m);
    for (auto& x : norms) x = std::max(x, 1e-300);
    // g_i . u_j = M_ij / |g_j|.
    auto gu = [&](int64_t i, int64_t j) { return m(i, j) / norms[j]; };
    SmallMatrix transposed{n - 1, std::vector<double>((n - 1) * (n - 1))};
    std::vector<double> rhs(n - 1);
    for (int64_t t = 1; t < n; ++t) {
      rhs[t - 1] = gu(0, 0) - gu(0, t);
      for (int64_t s = 1; s < n; ++s) {
        transposed(s - 1, t - 1) = gu(0, 0) - gu(0, s) - gu(t, 0) + gu(t, s);
      }
    }
    std::vector<double> a(n, 1.0);
    std::vector<double> rest;
    try {
      rest = solve_linear(transposed, rhs);
    } catch (const Error&) {
      // Parallel or zero gradients: every a on the simplex equalises the
      // projections; take the mean.
      return std::vector<double>(n, 1.0 / n);
    }
    a[0] = 1.0;
    for (int64_t t = 1; t < n; ++t) {
      a[t] = rest[t - 1];
      a[0] -= rest[t - 1];
    }
    return a;
  }

 private:
  std::vector<torch::Tensor> scales_;
};

// Nash-MTL (Navon et al., ICML 2022): the Nash bargaining solution, a > 0
// with (G G^T) a = 1 / a elementwise. The paper approximates it by a sequence
// of convex programs; it is exactly the minimiser of the strictly convex
// a^T M a / 2 - sum log a, which a damped Newton method finds.
class NashMtl : public GradientWeighting {
 public:
  using GradientWeighting::GradientWeighting;

 protected:
  std::vector<double> solve(const SmallMatrix& m, const std::vector<double>& /*losses*/,
                            const WeightingContext& /*context*/) override {
    return nash_weights(m);
  }
};

// Aligned-MTL (Senushkin et al., CVPR 2023): the gradient matrix with every
// singular value replaced by the smallest, G_hat^T = sigma_min U V^T, so the
// aligned task gradients are orthogonal and of equal norm; d = G_hat^T 1.
// From M = V diag(lambda) V^T: a = sigma_min V diag(lambda^-1/2) V^T 1.
// Eigenvalues below 1e-10 lambda_max (dependent gradients) are left out.
class AlignedMtl : public GradientWeighting {
 public:
  using GradientWeighting::GradientWeighting;

 protected:
  std::vector<double> solve(const SmallMatrix& m, const std::vector<double>& /*losses*/,
                            const WeightingContext& /*context*/) override {
    const int64_t n = m.n;
    const torch::Tensor gram = torch::tensor(m.values, torch::kDouble).view({n, n});
    const auto [values, vectors] = at::linalg_eigh(gram, "L");
    const double largest = values[n - 1].item<double>();
    if (largest <= 0) return std::vector<double>(n, 1.0);
    const torch::Tensor kept = values > 1e-10 * largest;
    const torch::Tensor v = vectors.index({torch::indexing::Slice(), kept});
    const torch::Tensor lambda = values.index({kept});
    const double sigma_min = std::sqrt(lambda.min().item<double>());
    const torch::Tensor a = sigma_min * v.matmul(torch::diag(lambda.rsqrt()))
                                            .matmul(v.t())
                                            .matmul(torch::ones({n}, torch::kDouble));
    return to_vector(a);
  }
};

// Every gradient method reads `mode`.
template <typename Method, typename... Args>
std::shared_ptr<Weighting> gradient_method(WeightingOptionReader& read, Args&&... args) {
  const std::string mode = read.choice("mode", "parameters", {"parameters", "representation"});
  read.finish();
  auto method = std::make_shared<Method>(std::forward<Args>(args)...);
  method->set_mode(mode);
  return method;
}

template <typename Method>
std::shared_ptr<Weighting> only_mode(const WeightingSpec& spec, int64_t num_tasks) {
  WeightingOptionReader read(spec);
  return gradient_method<Method>(read, num_tasks);
}

}  // namespace

void register_gradient_weightings(Registry<WeightingFactory>& registry) {
  registry.add("gradnorm", [](const WeightingSpec& spec, int64_t num_tasks) {
    WeightingOptionReader read(spec);
    const double alpha = read.real("alpha", 1.5, 0.0, false);
    const double lr = read.real("lr", 0.025, 0.0, true);
    return gradient_method<GradNorm>(read, num_tasks, alpha, lr);
  });
  registry.add("mgda", [](const WeightingSpec& spec, int64_t num_tasks) {
    WeightingOptionReader read(spec);
    const std::string normalize = read.choice("normalize", "none", {"none", "l2", "loss", "loss+"});
    return gradient_method<Mgda>(read, num_tasks, normalize);
  });
  registry.add("pcgrad", only_mode<PcGrad>);
  registry.add("cagrad", [](const WeightingSpec& spec, int64_t num_tasks) {
    WeightingOptionReader read(spec);
    const double c = read.real("c", 0.4, 0.0, false);
    return gradient_method<CaGrad>(read, num_tasks, c);
  });
  registry.add("imtl", [](const WeightingSpec& spec, int64_t num_tasks) {
    WeightingOptionReader read(spec);
    const bool loss_scale = read.flag("loss_scale", true);
    return gradient_method<Imtl>(read, num_tasks, loss_scale);
  });
  registry.add("nash_mtl", only_mode<NashMtl>);
  registry.add("aligned_mtl", only_mode<AlignedMtl>);
}

}  // namespace nddr
