// Each gradient method against a case worked by hand from its paper's
// definition: fixed task gradients (rows of G), expected update d, double.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "nddr/util/error.h"
#include "nddr/weighting/weighting.h"

namespace nddr {
namespace {

torch::Tensor rows(std::vector<std::vector<double>> values) {
  std::vector<torch::Tensor> list;
  for (auto& row : values) list.push_back(torch::tensor(row, torch::kDouble));
  return torch::stack(list);
}

// The update d = sum_t a_t g_t the method makes from gradients `g` [T,P].
torch::Tensor direction(Weighting& method, const torch::Tensor& g, std::vector<double> losses = {},
                        int64_t step = 0) {
  if (losses.empty()) losses.assign(g.size(0), 1.0);
  WeightingContext context;
  context.step = step;
  const torch::Tensor a =
      method.gradient_weights(g.matmul(g.t()), torch::tensor(losses, torch::kDouble), context);
  return a.matmul(g);
}

void expect_near(const torch::Tensor& actual, std::vector<double> expected, double tolerance) {
  ASSERT_EQ(actual.numel(), static_cast<int64_t>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(actual[i].item<double>(), expected[i], tolerance) << "entry " << i;
  }
}

std::shared_ptr<Weighting> make(const std::string& method,
                                std::map<std::string, std::string> options = {},
                                int64_t tasks = 2) {
  return make_weighting({method, std::move(options)}, tasks);
}

TEST(Mgda, TwoTasksMinNormPoint) {
  // min over a of |a g1 + (1-a) g2|^2 with g1 = (1,0), g2 = (0,2):
  // a = (g2 - g1) . g2 / |g1 - g2|^2 = 4/5, d = (0.8, 0.4); d . g1 = d . g2.
  auto mgda = make("mgda");
  const auto d = direction(*mgda, rows({{1, 0}, {0, 2}}));
  expect_near(d, {0.8, 0.4}, 1e-12);
  expect_near(torch::tensor(mgda->last_weights(), torch::kDouble), {0.8, 0.2}, 1e-12);
}

TEST(Mgda, ThreeOrthogonalTasksAndAnInactiveOne) {
  // Orthogonal gradients: a_t proportional to 1 / |g_t|^2 = (1, 1, 1/4) / 2.25.
  auto mgda = make("mgda", {}, 3);
  expect_near(direction(*mgda, rows({{1, 0, 0}, {0, 1, 0}, {0, 0, 2}})), {4. / 9, 4. / 9, 2. / 9},
              1e-9);
  // g3 = g1 + g2 lies beyond the segment g1-g2, whose midpoint is the min-norm point.
  direction(*mgda, rows({{1, 0}, {0, 1}, {1, 1}}));
  expect_near(torch::tensor(mgda->last_weights(), torch::kDouble), {0.5, 0.5, 0.0}, 1e-9);
}

TEST(Mgda, NormalisedVariantsScaleTheGradientsFirst) {
  // l2: g1/|g1| = (1,0), g2/|g2| = (0,1): a = (1/2, 1/2) on the raw gradients.
  auto mgda = make("mgda", {{"normalize", "l2"}});
  expect_near(direction(*mgda, rows({{1, 0}, {0, 2}})), {0.5, 1.0}, 1e-12);
  // loss: g1/2 = (0.5,0), g2/1 = (0,2): a = 4 / 4.25 for task 1.
  auto by_loss = make("mgda", {{"normalize", "loss"}});
  direction(*by_loss, rows({{1, 0}, {0, 2}}), {2.0, 1.0});
  EXPECT_NEAR(by_loss->last_weights()[0], 4.0 / 4.25, 1e-12);
}

TEST(PcGrad, ProjectsConflictingGradients) {
  // g1 . g2 = -1 < 0: g1' = g1 - (-1/2) g2 = (0.5, 0.5), g2' = g2 - (-1/1) g1 = (0, 1).
  auto pcgrad = make("pcgrad");
  expect_near(direction(*pcgrad, rows({{1, 0}, {-1, 1}})), {0.5, 1.5}, 1e-12);
  // No conflict: the plain sum.
  expect_near(direction(*pcgrad, rows({{1, 0}, {1, 1}})), {2, 1}, 1e-12);
  // Three tasks where only g1 and g2 conflict, so the random order cannot
  // matter: d = (0.5, 0.5, 0) + (0, 1, 0) + (0, 0, 1).
  auto three = make("pcgrad", {}, 3);
  for (int64_t step : {0, 1, 2, 3}) {
    expect_near(direction(*three, rows({{1, 0, 0}, {-1, 1, 0}, {0, 0, 1}}), {}, step),
                {0.5, 1.5, 1.0}, 1e-12);
  }
}

TEST(PcGrad, ThreeTasksFollowTheDrawnOrder) {
  // g1 = (1,0), g2 = (-1,1), g3 = (-1,-1): g1.g2 = g1.g3 = -1, g2.g3 = 0.
  // g1': via g2 then g3: (0.5,0.5), then (0.5,0.5) + 0.5 (-1,-1) = 0;
  //      via g3 then g2: (0.5,-0.5), then + 0.5 (-1,1) = 0.
  // g2': via g1 then g3: (0,1), dot g3 = -1 -> (0,1) + 0.5 (-1,-1) = (-0.5,0.5);
  //      via g3 then g1: unchanged by g3, then (0,1).
  // g3' mirrors g2': (-0.5,-0.5) or (0,-1). So d is one of the four sums below.
  auto pcgrad = make("pcgrad", {}, 3);
  const auto g = rows({{1, 0}, {-1, 1}, {-1, -1}});
  const std::vector<std::pair<double, double>> sums = {{-1, 0}, {-0.5, -0.5}, {-0.5, 0.5}, {0, 0}};
  std::set<size_t> seen;
  for (int64_t step = 0; step < 40; ++step) {
    const auto d = direction(*pcgrad, g, {}, step);
    const double x = d[0].item<double>(), y = d[1].item<double>();
    size_t match = sums.size();
    for (size_t k = 0; k < sums.size(); ++k) {
      if (std::abs(x - sums[k].first) < 1e-12 && std::abs(y - sums[k].second) < 1e-12) match = k;
    }
    EXPECT_LT(match, sums.size()) << "step " << step << ": d = (" << x << ", " << y << ")";
    seen.insert(match);
    EXPECT_TRUE(torch::equal(d, direction(*pcgrad, g, {}, step))) << "same step, same order";
  }
  EXPECT_EQ(seen.size(), 4u) << "the order must vary with the step";
}

TEST(CaGrad, SymmetricCaseAndTheDualAtTheBoundary) {
  // g1 = (1,0), g2 = (0,1), c = 0.5: w = (1/2, 1/2) by symmetry, g_w = g0,
  // sqrt(phi) = 0.5 |g0|, d = g0 + 0.5 g0 = (0.75, 0.75).
  auto cagrad = make("cagrad", {{"c", "0.5"}});
  expect_near(direction(*cagrad, rows({{1, 0}, {0, 1}})), {0.75, 0.75}, 1e-7);
  // g1 = (1,0), g2 = (0,2), c = 0.5: F(w) = w/2 + 2(1-w) + sqrt(phi) sqrt(w^2 + 4(1-w)^2)
  // with sqrt(phi) = 0.5 sqrt(1.25); F'(w) < 0 on [0,1] (its norm term's slope is at most
  // sqrt(phi) |g1 - g2| = 1.25 < 1.5), so w = 1, g_w = g1 and d = g0 + sqrt(phi) g1.
  const double root_phi = 0.5 * std::sqrt(1.25);
  expect_near(direction(*cagrad, rows({{1, 0}, {0, 2}})), {0.5 + root_phi, 1.0}, 1e-7);
}

TEST(CaGrad, InteriorOptimumOfTheDual) {
  // Same gradients, c = 2: sqrt(phi) = 2 sqrt(1.25) = sqrt(5). F'(w) = 0 gives
  // (5w - 4) / sqrt(5w^2 - 8w + 4) = 1.5 / sqrt(5), i.e.
  // 22.75 w^2 - 36.4 w + 14.2 = 0 with 5w - 4 > 0.
  const double w = (36.4 + std::sqrt(36.4 * 36.4 - 4 * 22.75 * 14.2)) / (2 * 22.75);
  const double gw_norm = std::sqrt(w * w + 4 * (1 - w) * (1 - w));
  const double k = std::sqrt(5.0) / gw_norm;
  auto cagrad = make("cagrad", {{"c", "2"}});
  expect_near(direction(*cagrad, rows({{1, 0}, {0, 2}})), {0.5 + k * w, 1.0 + k * 2 * (1 - w)},
              1e-6);
  // c = 0 is the mean gradient.
  auto plain = make("cagrad", {{"c", "0"}});
  expect_near(direction(*plain, rows({{1, 0}, {0, 2}})), {0.5, 1.0}, 1e-12);
}

TEST(Imtl, EqualProjectionsOnEveryUnitGradient) {
  // g1 = (1,0), g2 = (0,2): D = g1 - g2 = (1,-2), U = u1 - u2 = (1,-1),
  // a2 = g1.U / (D.U) = 1/3, a1 = 2/3, d = (2/3, 2/3).
  auto imtl = make("imtl");
  expect_near(direction(*imtl, rows({{1, 0}, {0, 2}})), {2. / 3, 2. / 3}, 1e-12);
  // Three tasks: the property itself, d . u_t equal for all t and sum a = 1.
  auto three = make("imtl", {}, 3);
  const auto g = rows({{1, 0, 0}, {1, 2, 0}, {0, 1, 3}});
  const auto d = direction(*three, g);
  const auto units = g / g.norm(2, 1, true);
  const auto projections = units.matmul(d);
  EXPECT_NEAR(projections[1].item<double>(), projections[0].item<double>(), 1e-12);
  EXPECT_NEAR(projections[2].item<double>(), projections[0].item<double>(), 1e-12);
  const auto& a = three->last_weights();
  EXPECT_NEAR(a[0] + a[1] + a[2], 1.0, 1e-12);
}

TEST(GradientWeightings, DegenerateGradientsGiveFiniteWeights) {
  // Identical or zero gradients must not stop a run: every method returns
  // finite weights and a finite update.
  for (const std::string method :
       {"gradnorm", "mgda", "pcgrad", "cagrad", "imtl", "nash_mtl", "aligned_mtl"}) {
    for (const auto& g : {rows({{1, 2}, {1, 2}}), rows({{0, 0}, {0, 0}}), rows({{1, 0}, {0, 0}})}) {
      auto weighting = make(method);
      const auto d = direction(*weighting, g);
      EXPECT_TRUE(torch::isfinite(d).all().item<bool>()) << method << " " << g;
    }
  }
}

TEST(NashMtl, SolvesTheBargainingEquation) {
  // Orthogonal: M = diag(1, 4): a1^2 = 1, 4 a2^2 = 1 -> a = (1, 1/2), d = (1, 1).
  auto nash = make("nash_mtl");
  expect_near(direction(*nash, rows({{1, 0}, {0, 2}})), {1, 1}, 1e-7);
  // g1 = (1,0), g2 = (1,1): M = [[1,1],[1,2]]; a1 + a2 = 1/a1, a1 + 2 a2 = 1/a2
  // reduce to a1^4 - 4 a1^2 + 2 = 0: a1 = sqrt(2 - sqrt 2), a2 = 1/a1 - a1.
  direction(*nash, rows({{1, 0}, {1, 1}}));
  const double a1 = std::sqrt(2 - std::sqrt(2.0));
  EXPECT_NEAR(nash->last_weights()[0], a1, 1e-7);
  EXPECT_NEAR(nash->last_weights()[1], 1 / a1 - a1, 1e-7);
}

TEST(NashMtl, ThreeTasksSatisfyMaEqualsOneOverA) {
  auto nash = make("nash_mtl", {}, 3);
  const auto g = rows({{1, 0.5, 0}, {0, 1, 0.2}, {0.3, 0, 2}});
  direction(*nash, g);
  const auto a = torch::tensor(nash->last_weights(), torch::kDouble);
  const auto residual = g.matmul(g.t()).matmul(a) - 1 / a;
  EXPECT_LT(residual.abs().max().item<double>(), 1e-6);
  EXPECT_GT(a.min().item<double>(), 0);
}

TEST(AlignedMtl, ReplacesEverySingularValueByTheSmallest) {
  // Orthogonal: singular values 1 and 2 -> both 1: aligned rows (1,0), (0,1), d = (1, 1).
  auto aligned = make("aligned_mtl");
  expect_near(direction(*aligned, rows({{1, 0}, {0, 2}})), {1, 1}, 1e-12);
  // g1 = (1,0), g2 = (1,1): M = [[1,1],[1,2]], det 1, trace 3; sqrt(M) = (M + I)/sqrt 5,
  // M^-1/2 = [[3,-1],[-1,2]]/sqrt 5, sigma_min = sqrt((3 - sqrt 5)/2) = (sqrt 5 - 1)/2;
  // a = sigma_min M^-1/2 1 = sigma_min (2, 1)/sqrt 5.
  direction(*aligned, rows({{1, 0}, {1, 1}}));
  const double sigma = (std::sqrt(5.0) - 1) / 2;
  EXPECT_NEAR(aligned->last_weights()[0], 2 * sigma / std::sqrt(5.0), 1e-12);
  EXPECT_NEAR(aligned->last_weights()[1], sigma / std::sqrt(5.0), 1e-12);
}

TEST(GradNorm, UpdatesTheTaskWeightsTowardsTheTargetNorms) {
  // |g| = (3, 1), alpha = 1, lr = 0.1, w starts at (1, 1).
  auto gradnorm = make("gradnorm", {{"alpha", "1"}, {"lr", "0.1"}});
  const auto g = rows({{3, 0}, {0, 1}});
  // Step 0 (L = L(0) = (1, 1)): d uses w = (1, 1). Then r = (1, 1), the weighted
  // norms (3, 1) have mean 2 = both targets, signs (+, -):
  // w = (1 - 0.1 * 3, 1 + 0.1 * 1) = (0.7, 1.1), renormalised to sum 2.
  expect_near(direction(*gradnorm, g, {1, 1}), {3, 1}, 1e-12);
  const double w1 = 0.7 * 2 / 1.8, w2 = 1.1 * 2 / 1.8;
  // Step 1 (L = (0.5, 1)): d uses (w1, w2). Then r = (0.5, 1) / 0.75 = (2/3, 4/3),
  // mean weighted norm m = (3 w1 + w2) / 2, targets m r.
  expect_near(direction(*gradnorm, g, {0.5, 1}), {3 * w1, w2}, 1e-12);
  const double m = (3 * w1 + w2) / 2;
  const double n1 = w1 - 0.1 * 3 * (3 * w1 > m * 2 / 3 ? 1 : -1);
  const double n2 = w2 - 0.1 * 1 * (w2 > m * 4 / 3 ? 1 : -1);
  expect_near(direction(*gradnorm, g, {0.5, 1}), {3 * n1 * 2 / (n1 + n2), n2 * 2 / (n1 + n2)},
              1e-12);
}

TEST(GradientWeightings, UnknownOptionsAndModesAreErrors) {
  EXPECT_THROW(make("mgda", {{"normalise", "l2"}}), Error);
  EXPECT_THROW(make("mgda", {{"normalize", "l3"}}), Error);
  EXPECT_THROW(make("cagrad", {{"c", "-1"}}), Error);
  EXPECT_THROW(make("pcgrad", {{"mode", "reps"}}), Error);
  EXPECT_EQ(make("mgda", {{"mode", "representation"}})->mode(), "representation");
  try {
    make("pcgard");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'pcgrad'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace nddr
