// Each loss-based method against a case worked by hand from its paper's
// definition: fixed losses, expected combined loss, weights and gradients.
#include <gtest/gtest.h>

#include <cmath>

#include "nddr/util/error.h"
#include "nddr/weighting/backward.h"
#include "nddr/weighting/weighting.h"

namespace nddr {
namespace {

std::shared_ptr<Weighting> make(const std::string& method,
                                std::map<std::string, std::string> options = {},
                                int64_t tasks = 2) {
  return make_weighting({method, std::move(options)}, tasks);
}

torch::Tensor losses_of(std::vector<double> values) {
  return torch::tensor(values, torch::kDouble).requires_grad_(true);
}

// Combined loss of `values` at `step`; `losses` keeps the leaf for gradients.
torch::Tensor combine(Weighting& method, const torch::Tensor& losses, int64_t step = 0) {
  WeightingContext context;
  context.step = step;
  context.seed = 3;
  return method.combine(losses, losses.detach().clone(), context);
}

TEST(Fixed, IsTheSumOfTheAlreadyWeightedLosses) {
  auto fixed = make("fixed");
  const auto losses = losses_of({2, 3});
  EXPECT_DOUBLE_EQ(combine(*fixed, losses).item<double>(), 5.0);
  EXPECT_FALSE(fixed->uses_gradients());
  EXPECT_THROW(make("fixed", {{"weights", "1"}}), Error);
}

TEST(Uncertainty, KendallLossAndItsGradients) {
  // s = (0, ln 2): L = 0.5 * 2 + 0 + 0.5 * 3 / 2 + 0.5 ln 2;
  // dL/dL_t = exp(-s_t) / 2 = (0.5, 0.25); dL/ds_t = -exp(-s_t) L_t / 2 + 1/2 = (-0.5, -0.25).
  auto uncertainty = make("uncertainty");
  const auto parameters = uncertainty->parameters();
  ASSERT_EQ(parameters.size(), 1u);
  {
    torch::NoGradGuard no_grad;
    parameters[0][1] = std::log(2.0);
  }
  const auto losses = torch::tensor({2.0f, 3.0f}).requires_grad_(true);
  const auto total = combine(*uncertainty, losses);
  total.backward();
  EXPECT_NEAR(total.item<double>(), 1.0 + 0.75 + 0.5 * std::log(2.0), 1e-6);
  EXPECT_NEAR(losses.grad()[0].item<double>(), 0.5, 1e-7);
  EXPECT_NEAR(losses.grad()[1].item<double>(), 0.25, 1e-7);
  EXPECT_NEAR(parameters[0].grad()[0].item<double>(), -0.5, 1e-7);
  EXPECT_NEAR(parameters[0].grad()[1].item<double>(), -0.25, 1e-7);
  EXPECT_NEAR(make("uncertainty", {{"init", "1"}})->parameters()[0][0].item<double>(), 1.0, 0);
}

TEST(Dwa, WeightsFromTheLossRatiosOfTheLastTwoPeriods) {
  // period 1, tau 2: w = 1 until two periods are complete, then
  // w = 2 exp(r/2) / sum exp(r/2), r = L(k-1) / L(k-2) = (0.5, 0.8).
  auto dwa = make("dwa", {{"period", "1"}, {"temperature", "2"}});
  EXPECT_DOUBLE_EQ(combine(*dwa, losses_of({1, 1}), 0).item<double>(), 2.0);
  EXPECT_DOUBLE_EQ(combine(*dwa, losses_of({0.5, 0.8}), 1).item<double>(), 1.3);
  const double e1 = std::exp(0.25), e2 = std::exp(0.4);
  const double w1 = 2 * e1 / (e1 + e2), w2 = 2 * e2 / (e1 + e2);
  EXPECT_NEAR(combine(*dwa, losses_of({2, 3}), 2).item<double>(), 2 * w1 + 3 * w2, 1e-12);
  EXPECT_NEAR(dwa->last_weights()[0], w1, 1e-12);
  // period 2 averages: periods (1,1),(1,1) -> (1,1); (0.5,0.5),(0.5,1.1) -> (0.5,0.8).
  auto averaged = make("dwa", {{"period", "2"}});
  const std::vector<std::vector<double>> sequence = {{1, 1}, {1, 1}, {0.5, 0.5}, {0.5, 1.1}};
  for (int64_t step = 0; step < 4; ++step) combine(*averaged, losses_of(sequence[step]), step);
  combine(*averaged, losses_of({2, 3}), 4);
  EXPECT_NEAR(averaged->last_weights()[0], w1, 1e-12);
  EXPECT_NEAR(averaged->last_weights()[1], w2, 1e-12);
}

TEST(Rlw, SoftmaxOfAFreshNormalDrawEachStep) {
  auto rlw = make("rlw", {}, 3);
  const auto losses = losses_of({1, 2, 4});
  const double total = combine(*rlw, losses, 5).item<double>();
  const auto w = rlw->last_weights();
  EXPECT_NEAR(w[0] + w[1] + w[2], 1.0, 1e-12);
  EXPECT_NEAR(total, w[0] + 2 * w[1] + 4 * w[2], 1e-12);
  for (double x : w) EXPECT_GT(x, 0);
  combine(*rlw, losses, 5);
  EXPECT_EQ(rlw->last_weights(), w) << "a pure function of (seed, step)";
  combine(*rlw, losses, 6);
  EXPECT_NE(rlw->last_weights(), w);
  // Over many steps z ~ N(0, 1): log(w_i / w_j) = z_i - z_j has variance 2.
  double sum = 0, sum2 = 0;
  const int draws = 4000;
  for (int step = 0; step < draws; ++step) {
    combine(*rlw, losses, step);
    const double difference = std::log(rlw->last_weights()[0] / rlw->last_weights()[1]);
    sum += difference;
    sum2 += difference * difference;
  }
  EXPECT_NEAR(sum / draws, 0.0, 0.1);
  EXPECT_NEAR(sum2 / draws, 2.0, 0.2);
}

TEST(Gls, GeometricMeanAndItsGradient) {
  // L = sqrt(2 * 8) = 4; dL/dL_t = L / (T L_t) = (1, 0.25).
  auto gls = make("gls");
  const auto losses = losses_of({2, 8});
  const auto total = combine(*gls, losses);
  total.backward();
  EXPECT_NEAR(total.item<double>(), 4.0, 1e-12);
  EXPECT_NEAR(losses.grad()[0].item<double>(), 1.0, 1e-12);
  EXPECT_NEAR(losses.grad()[1].item<double>(), 0.25, 1e-12);
  EXPECT_NEAR(gls->last_weights()[1], 0.25, 1e-12);
}

TEST(Famo, WeightsAndOneLogitUpdate) {
  // xi = 0, z = (1/2, 1/2), L = (1, 4): c = 1 / (0.5 + 0.125) = 1.6, loss
  // weights c z / L = (0.8, 0.2).
  auto famo = make("famo", {{"lr", "0.025"}, {"decay", "0.001"}});
  EXPECT_NEAR(combine(*famo, losses_of({1, 4}), 0).item<double>(), 0.8 + 0.8, 1e-12);
  EXPECT_NEAR(famo->last_weights()[0], 0.8, 1e-12);
  // Next losses (0.5, 4): d = log L(k-1) - log L(k) = (ln 2, 0);
  // delta = z (d - z.d) = (ln2 / 4, -ln2 / 4); xi = -0.025 (delta + 0.001 * 0).
  combine(*famo, losses_of({0.5, 4}), 1);
  const double xi1 = -0.025 * std::log(2.0) / 4, xi2 = -xi1;
  const double z1 = std::exp(xi1) / (std::exp(xi1) + std::exp(xi2)), z2 = 1 - z1;
  const double c = 1 / (z1 / 0.5 + z2 / 4);
  EXPECT_NEAR(famo->last_weights()[0], c * z1 / 0.5, 1e-12);
  EXPECT_NEAR(famo->last_weights()[1], c * z2 / 4, 1e-12);
  // A third step applies the decay: xi <- xi - 0.025 (delta + 0.001 xi).
  combine(*famo, losses_of({0.5, 2}), 2);
  const double d2 = std::log(2.0);  // log 4 - log 2 on task 2, 0 on task 1
  const double mean = z2 * d2;
  const double n1 = xi1 - 0.025 * (z1 * (0 - mean) + 0.001 * xi1);
  const double n2 = xi2 - 0.025 * (z2 * (d2 - mean) + 0.001 * xi2);
  const double y1 = std::exp(n1) / (std::exp(n1) + std::exp(n2)), y2 = 1 - y1;
  EXPECT_NEAR(famo->last_weights()[0], (y1 / 0.5) / (y1 / 0.5 + y2 / 2), 1e-12);
}

TEST(Weighting, StateRoundTripsThroughAnArchive) {
  auto dwa = make("dwa", {{"period", "1"}});
  for (int64_t step = 0; step < 3; ++step) combine(*dwa, losses_of({1.0 + step, 2.0}), step);
  torch::serialize::OutputArchive out;
  dwa->save(out);
  std::stringstream stream;
  out.save_to(stream);
  auto restored = make("dwa", {{"period", "1"}});
  torch::serialize::InputArchive in;
  in.load_from(stream);
  restored->load(in);
  combine(*dwa, losses_of({3, 1}), 3);
  combine(*restored, losses_of({3, 1}), 3);
  EXPECT_EQ(dwa->last_weights(), restored->last_weights());
}

TEST(RepresentationBackward, WeightsFromTheSharedFeaturesGradients) {
  // z = W x with W [2,2] shared; task losses L1 = 0.5 |z - (1,0)|... chosen so
  // dL_t/dz are g1 = (1,0), g2 = (0,2): L1 = z0, L2 = 2 z1 at any z.
  // MGDA on them gives a = (0.8, 0.2) (see Mgda.TwoTasksMinNormPoint); the
  // backward pass is that of 0.8 L1 + 0.2 L2: dW = (0.8, 0.4)^T x^T.
  auto mgda = make("mgda", {{"mode", "representation"}});
  const auto w = torch::eye(2, torch::kDouble).requires_grad_(true);
  const auto x = torch::tensor({1.0, 3.0}, torch::kDouble);
  const auto z = w.matmul(x);
  const std::vector<torch::Tensor> losses = {z[0], 2 * z[1]};
  const auto total = representation_backward(*mgda, losses, z, {});
  EXPECT_NEAR(total.item<double>(), 0.8 * 1 + 0.2 * 6, 1e-12);
  const auto expected = torch::tensor({0.8, 0.4}, torch::kDouble).unsqueeze(1) * x.unsqueeze(0);
  EXPECT_TRUE(torch::allclose(w.grad(), expected, 0, 1e-12)) << w.grad();
}

TEST(Imtl, LossScalesTransformTheLossesBeforeTheGradientsAreCombined) {
  // theta shared, L1 = 2 theta0, L2 = 1.5 theta1 at theta = (1, 1); s = (0, ln 2).
  // Scaled: L1' = L1, L2' = 2 L2 - ln 2: g1 = (2, 0), g2 = (0, 3). IMTL-G:
  // D = (2, -3), U = (1, -1), a2 = g1.U / D.U = 2/5, a1 = 3/5, d = (1.2, 1.2).
  // ds_t = e^s_t L_t - 1 = (2 - 1, 2 * 1.5 - 1) = (1, 2).
  auto imtl = make("imtl");
  const auto scales = imtl->parameters();
  ASSERT_EQ(scales.size(), 2u);
  {
    torch::NoGradGuard no_grad;
    scales[1].fill_(std::log(2.0));
  }
  const auto theta = torch::ones({2}, torch::kFloat).requires_grad_(true);
  const std::vector<torch::Tensor> losses = {2 * theta[0], 1.5 * theta[1]};
  weighted_backward(*imtl, losses, {theta, scales[0], scales[1]}, {});
  EXPECT_NEAR(theta.grad()[0].item<double>(), 1.2, 1e-6);
  EXPECT_NEAR(theta.grad()[1].item<double>(), 1.2, 1e-6);
  EXPECT_NEAR(scales[0].grad().item<double>(), 1.0, 1e-6);
  EXPECT_NEAR(scales[1].grad().item<double>(), 2.0, 1e-6);
  EXPECT_TRUE(make("imtl", {{"loss_scale", "false"}})->parameters().empty());
  EXPECT_THROW(make("imtl", {{"loss_scale", "yes"}}), Error);
}

TEST(Weighting, UnknownMethodSuggestsTheClosest) {
  try {
    make("uncertainity");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'uncertainty'"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(make("dwa", {{"period", "0"}}), Error);
  EXPECT_THROW(make("dwa", {{"temperature", "x"}}), Error);
}

}  // namespace
}  // namespace nddr
