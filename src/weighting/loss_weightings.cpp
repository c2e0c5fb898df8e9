// The loss-based methods: the update is the gradient of one combined loss.
#include <cmath>

#include "methods.h"
#include "nddr/util/error.h"
#include "nddr/util/random.h"
#include "option_reader.h"

namespace nddr {

namespace {

// Sum of the losses, each already scaled by its task's loss_weight: today's
// behaviour (equal weighting when every loss_weight is 1).
class Fixed : public Weighting {
 public:
  using Weighting::Weighting;
  bool uses_gradients() const override { return false; }
  torch::Tensor combine(const torch::Tensor& losses, const torch::Tensor& /*values*/,
                        const WeightingContext& /*context*/) override {
    record(torch::ones({num_tasks_}, torch::kDouble));
    return losses.sum();
  }
};

// Kendall, Gal & Cipolla (CVPR 2018): learned s_t = log sigma_t^2 and
// L = sum_t exp(-s_t) L_t / 2 + s_t / 2 (their regression form, used for
// every task); s is optimised with the network.
class Uncertainty : public Weighting {
 public:
  Uncertainty(int64_t num_tasks, double init) : Weighting(num_tasks) {
    log_variances_ = register_parameter("log_variances", torch::full({num_tasks}, init));
  }
  bool uses_gradients() const override { return false; }
  torch::Tensor combine(const torch::Tensor& losses, const torch::Tensor& /*values*/,
                        const WeightingContext& /*context*/) override {
    const torch::Tensor s = log_variances_.to(losses.options());
    const torch::Tensor weights = 0.5 * torch::exp(-s);
    record(weights);
    return (weights * losses + 0.5 * s).sum();
  }

 private:
  torch::Tensor log_variances_;
};

// Dynamic Weight Average (Liu, Johns & Davison, CVPR 2019):
// w_t = T exp(r_t / tau) / sum_i exp(r_i / tau), r_t = Lbar_t(k-1) / Lbar_t(k-2),
// Lbar the mean loss over a period (the paper's epoch) of `period` steps;
// w = 1 for the first two periods.
class Dwa : public Weighting {
 public:
  Dwa(int64_t num_tasks, double temperature, int64_t period)
      : Weighting(num_tasks), temperature_(temperature), period_(period) {
    const auto options = torch::TensorOptions().dtype(torch::kDouble);
    sum_ = register_buffer("period_sum", torch::zeros({num_tasks}, options));
    means_ = register_buffer("period_means", torch::zeros({2, num_tasks}, options));
    counts_ = register_buffer("counts", torch::zeros({2}, torch::kLong));  // steps, periods
  }
  bool uses_gradients() const override { return false; }
  torch::Tensor combine(const torch::Tensor& losses, const torch::Tensor& values,
                        const WeightingContext& /*context*/) override {
    torch::Tensor weights = torch::ones({num_tasks_}, torch::kDouble);
    if (counts_[1].item<int64_t>() >= 2) {
      const torch::Tensor ratio = means_[1] / means_[0].clamp_min(1e-12);
      weights = num_tasks_ * torch::softmax(ratio / temperature_, 0);
    }
    record(weights);
    sum_ += values;
    counts_[0] += 1;
    if (counts_[0].item<int64_t>() == period_) {
      means_[0].copy_(means_[1]);
      means_[1].copy_(sum_ / static_cast<double>(period_));
      sum_.zero_();
      counts_[0].zero_();
      counts_[1] += 1;
    }
    return (weights.to(losses.options()) * losses).sum();
  }

 private:
  double temperature_;
  int64_t period_;
  torch::Tensor sum_, means_, counts_;
};

// Random Loss Weighting (Lin et al., TMLR 2022): w = softmax(z), z ~ N(0, I)
// drawn afresh each step (from (seed, step), so resume and ranks agree).
class Rlw : public Weighting {
 public:
  using Weighting::Weighting;
  bool uses_gradients() const override { return false; }
  torch::Tensor combine(const torch::Tensor& losses, const torch::Tensor& /*values*/,
                        const WeightingContext& context) override {
    auto generator = step_generator(context.seed, context.step, /*stream=*/1);
    std::vector<double> z(num_tasks_);
    // Box-Muller, written out: std::normal_distribution differs between
    // standard libraries.
    const double two_pi = 2 * std::acos(-1.0);
    for (auto& value : z) {
      const double u1 = detail::unit_interval_above_zero(generator());
      const double u2 = detail::unit_interval(generator());
      value = std::sqrt(-2 * std::log(u1)) * std::cos(two_pi * u2);
    }
    const torch::Tensor weights = torch::softmax(to_tensor(z), 0);
    record(weights);
    return (weights.to(losses.options()) * losses).sum();
  }
};

// Geometric Loss Strategy (Chennupati et al., CVPRW 2019): L = (prod_t L_t)^(1/T).
// Losses are floored at 1e-12 so a zero loss does not make the log infinite.
// Returned as sum_t w_t L_t with w_t = dL/dL_t = L / (T L_t) taken at the
// values: the same value and gradient, but linear in the losses, so that in
// a distributed run (values global, losses the rank's) the ranks' gradients
// average to the global one.
class Gls : public Weighting {
 public:
  using Weighting::Weighting;
  bool uses_gradients() const override { return false; }
  torch::Tensor combine(const torch::Tensor& losses, const torch::Tensor& values,
                        const WeightingContext& /*context*/) override {
    const torch::Tensor floored = values.clamp_min(1e-12);
    const torch::Tensor weights = torch::exp(torch::log(floored).mean()) / (num_tasks_ * floored);
    record(weights);
    return (weights.to(losses.options()) * losses).sum();
  }
};

// FAMO (Liu et al., NeurIPS 2023): task logits xi, z = softmax(xi); the update
// is c sum_t z_t grad log L_t with c = 1 / sum_t (z_t / L_t), i.e. loss weights
// c z_t / L_t; then xi <- xi - beta (delta + gamma xi) with
// delta = J_softmax(xi)^T (log L(k-1) - log L(k)). The paper evaluates L(k)
// again after the update; we use the next step's losses (another batch),
// which saves a forward pass. Losses are floored at 1e-8.
class Famo : public Weighting {
 public:
  Famo(int64_t num_tasks, double lr, double decay) : Weighting(num_tasks), lr_(lr), decay_(decay) {
    const auto options = torch::TensorOptions().dtype(torch::kDouble);
    logits_ = register_buffer("logits", torch::zeros({num_tasks}, options));
    previous_ = register_buffer("previous_losses", torch::zeros({num_tasks}, options));
    has_previous_ = register_buffer("has_previous", torch::zeros({}, torch::kLong));
  }
  bool uses_gradients() const override { return false; }
  torch::Tensor combine(const torch::Tensor& losses, const torch::Tensor& values,
                        const WeightingContext& /*context*/) override {
    const torch::Tensor current = values.clamp_min(1e-8);
    if (has_previous_.item<int64_t>() != 0) {
      const torch::Tensor z = torch::softmax(logits_, 0);
      const torch::Tensor d = torch::log(previous_) - torch::log(current);
      const torch::Tensor delta = z * (d - (z * d).sum());
      logits_ -= lr_ * (delta + decay_ * logits_);
    }
    const torch::Tensor z = torch::softmax(logits_, 0);
    const torch::Tensor weights = z / current / (z / current).sum();
    record(weights);
    previous_.copy_(current);
    has_previous_.fill_(1);
    return (weights.to(losses.options()) * losses).sum();
  }

 private:
  double lr_, decay_;
  torch::Tensor logits_, previous_, has_previous_;
};

template <typename Method>
std::shared_ptr<Weighting> without_options(const WeightingSpec& spec, int64_t num_tasks) {
  WeightingOptionReader(spec).finish();
  return std::make_shared<Method>(num_tasks);
}

}  // namespace

void register_loss_weightings(Registry<WeightingFactory>& registry) {
  registry.add("fixed", without_options<Fixed>);
  registry.add("rlw", without_options<Rlw>);
  registry.add("gls", without_options<Gls>);
  registry.add("uncertainty", [](const WeightingSpec& spec, int64_t num_tasks) {
    WeightingOptionReader read(spec);
    const double init = read.real("init", 0.0, -1e9, false);
    read.finish();
    return std::make_shared<Uncertainty>(num_tasks, init);
  });
  registry.add("dwa", [](const WeightingSpec& spec, int64_t num_tasks) {
    WeightingOptionReader read(spec);
    const double temperature = read.real("temperature", 2.0, 0.0, true);
    const int64_t period = read.integer("period", 100, 1);
    read.finish();
    return std::make_shared<Dwa>(num_tasks, temperature, period);
  });
  registry.add("famo", [](const WeightingSpec& spec, int64_t num_tasks) {
    WeightingOptionReader read(spec);
    const double lr = read.real("lr", 0.025, 0.0, true);
    const double decay = read.real("decay", 0.001, 0.0, false);
    read.finish();
    return std::make_shared<Famo>(num_tasks, lr, decay);
  });
}

}  // namespace nddr
