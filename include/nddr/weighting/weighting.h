#pragma once
// Loss weighting: how much each task pulls on the shared weights. A method
// either turns the per-task losses into one loss (loss-based: fixed,
// uncertainty, dwa, rlw, gls, famo) or turns the per-task gradients of the
// shared parameters into one update (gradient-based: gradnorm, mgda, pcgrad,
// cagrad, imtl, nash_mtl, aligned_mtl). docs/weighting.md gives each
// method's definition, its options and which parameters count as shared.
//
// A method is a torch::nn::Module: its state (DWA's loss history, FAMO's
// logits, GradNorm's weights, the log-variances of uncertainty weighting) is
// its buffers and parameters, so the checkpoint saves it with the network
// and a resumed run continues bit-exact.
//
//   auto weighting = make_weighting({"dwa", {{"temperature", "2"}}}, 3);
//   torch::Tensor total = weighting->combine(losses, context);  // losses [3]

#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nddr/util/registry.h"

namespace nddr {

/// What a method may depend on besides the losses or gradients.
struct WeightingContext {
  int64_t step = 0;  ///< 0-based optimisation step
  int64_t seed = 0;  ///< the run's seed (RLW and PCGrad draw from (seed, step))
  /// Averages a tensor over the processes of a distributed run, in place;
  /// empty in a single process. Applied to the detached loss values, to the
  /// per-task gradients and to the reported loss, so every rank computes the
  /// same weights from the global batch (docs/distributed.md).
  std::function<void(torch::Tensor&)> average;
  /// The number of processes `average` averages over.
  int64_t world_size = 1;
  /// fp16 loss scaling: the backward pass runs on the losses times this, so
  /// the gradients written are this times the method's gradients (the loss
  /// scaler divides them again); weights and returned losses are unscaled.
  double loss_scale = 1.0;
};

class Weighting : public torch::nn::Module {
 public:
  explicit Weighting(int64_t num_tasks) : num_tasks_(num_tasks) {}

  int64_t num_tasks() const { return num_tasks_; }

  /// True for gradient-based methods (they need gradient_weights).
  virtual bool uses_gradients() const = 0;

  /// Loss-based methods: the loss to back-propagate, from the per-task losses
  /// `losses` [T] (with their graph); `values` [T] are their detached values
  /// (double, CPU), averaged over ranks in a distributed run.
  virtual torch::Tensor combine(const torch::Tensor& losses, const torch::Tensor& values,
                                const WeightingContext& context);

  /// Gradient-based methods: weights a [T] (double, CPU) such that the update
  /// of the shared parameters is d = sum_t a_t g_t, from the Gram matrix
  /// gram[i][j] = g_i . g_j [T,T] (double, CPU) of the per-task gradients
  /// and the loss values [T]. Every method of the list is such a linear
  /// combination (PCGrad's and CAGrad's too), which is what lets one code path
  /// serve parameter and representation gradients.
  virtual torch::Tensor gradient_weights(const torch::Tensor& gram, const torch::Tensor& values,
                                         const WeightingContext& context);

  /// Applied to the per-task losses before anything else (identity but for
  /// IMTL's learned loss scales, e^s_t L_t - s_t).
  virtual std::vector<torch::Tensor> transform_losses(const std::vector<torch::Tensor>& losses) {
    return losses;
  }

  /// For gradient methods: "parameters" (per-task gradients of the shared
  /// parameters) or "representation" (of the shared features; MGDA-UB).
  const std::string& mode() const { return mode_; }
  void set_mode(std::string mode) { mode_ = std::move(mode); }

  /// The weights of the last step (logged): the loss weights of loss-based
  /// methods, the a_t above for gradient-based ones.
  const std::vector<double>& last_weights() const { return last_weights_; }

 protected:
  void record(const torch::Tensor& weights);
  int64_t num_tasks_;
  std::vector<double> last_weights_;
  std::string mode_ = "parameters";
};

/// A method and its options, as the config gives them (train.weighting,
/// train.weighting_options).
struct WeightingSpec {
  std::string method = "fixed";
  std::map<std::string, std::string> options;
};

using WeightingFactory =
    std::function<std::shared_ptr<Weighting>(const WeightingSpec& spec, int64_t num_tasks)>;

/// The methods by name; an unknown one is an Error with "did you mean".
Registry<WeightingFactory>& weighting_registry();

/// Builds spec.method for `num_tasks` tasks; an unknown method or option,
/// or a bad option value, is an Error naming it.
std::shared_ptr<Weighting> make_weighting(const WeightingSpec& spec, int64_t num_tasks);

}  // namespace nddr
