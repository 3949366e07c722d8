// Several metrics in one routing: objectives, floors, and the floor solver against brute force.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "catimage/router/constrained_router.hpp"
#include "catimage/router/metric_objective.hpp"
#include "catimage/util/error.hpp"

using namespace catimage;

namespace {

Matrix random_matrix(std::mt19937& g, std::size_t n, std::size_t m, double mean, double sd) {
  std::normal_distribution<double> d(mean, sd);
  Matrix q(n, m);
  for (auto& v : q.data) v = d(g);
  return q;
}

double mean_of(const Matrix& q, const std::vector<int>& choice) {
  double s = 0;
  for (std::size_t i = 0; i < choice.size(); ++i) s += q(i, choice[i]);
  return s / choice.size();
}

// The best assignment of all M^n (not only the Lagrangian ones) meeting the budget and floors.
double brute_force_optimum(const Matrix& obj, const std::vector<double>& cost, double budget,
                           const std::vector<RoutingFloor>& floors) {
  const std::size_t n = obj.rows, m = obj.cols;
  std::vector<int> c(n, 0);
  double best = -std::numeric_limits<double>::infinity();
  while (true) {
    double cs = 0;
    for (std::size_t i = 0; i < n; ++i) cs += cost[c[i]];
    bool ok = cs <= budget * n * (1 + 1e-12);
    for (const auto& f : floors) ok = ok && mean_of(*f.q, c) >= f.floor - 1e-12;
    if (ok) best = std::max(best, mean_of(obj, c));
    std::size_t i = 0;
    while (i < n && ++c[i] == static_cast<int>(m)) c[i++] = 0;
    if (i == n) break;
  }
  return best;
}

// The best Lagrangian routing on a dense grid of (mu, lambda), each choice computed directly
// (argmax, ties to the cheaper): independent of the Router and of the search.
double grid_lagrangian_optimum(const Matrix& obj, const std::vector<double>& cost, double budget,
                               const RoutingFloor& f) {
  const std::size_t n = obj.rows, m = obj.cols;
  double best = -std::numeric_limits<double>::infinity();
  std::vector<double> grid{0.0};
  for (int e = 0; e <= 320; ++e) grid.push_back(1e-4 * std::pow(10.0, e / 40.0));
  for (double mu : grid)
    for (double lambda : grid) {
      std::vector<int> c(n);
      double cs = 0;
      for (std::size_t i = 0; i < n; ++i) {
        int b = 0;
        double bv = -std::numeric_limits<double>::infinity();
        for (std::size_t k = 0; k < m; ++k) {
          const double v = obj(i, k) + mu * (*f.q)(i, k) - lambda * cost[k];
          if (v > bv || (v == bv && cost[k] < cost[b])) bv = v, b = static_cast<int>(k);
        }
        c[i] = b;
        cs += cost[b];
      }
      if (cs <= budget * n * (1 + 1e-12) && mean_of(*f.q, c) >= f.floor - 1e-12) best = std::max(best, mean_of(obj, c));
    }
  return best;
}

}  // namespace

TEST(MetricObjective, ParsesWeightsOneMetricAndMixedAndRefusesWhatItCannotMean) {
  const std::vector<std::string> metrics{"clip", "nima"};
  MetricObjective o = parse_metric_objective("clip:1, nima:2.5", metrics);
  EXPECT_EQ(o.metrics, metrics);
  EXPECT_EQ(o.weights, (std::vector<double>{1, 2.5}));
  EXPECT_EQ(o.scaling, MetricScaling::standard);
  o = parse_metric_objective("nima", metrics);
  EXPECT_EQ(o.metrics, std::vector<std::string>{"nima"});
  o = parse_metric_objective("mixed", metrics);
  EXPECT_EQ(o.scaling, MetricScaling::min_max);
  EXPECT_EQ(o.weights, (std::vector<double>{1, 1}));
  auto message = [&](const std::string& text) {
    try {
      parse_metric_objective(text, metrics);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("pick:1").find("no predictor of metric \"pick\" (metrics: clip, nima)"), std::string::npos);
  EXPECT_NE(message("clip:x").find("\"x\" in \"clip:x\" is not a number"), std::string::npos);
  EXPECT_NE(message("clip:-1").find("must be >= 0"), std::string::npos);
  EXPECT_NE(message("clip:0,nima:0").find("every weight"), std::string::npos);
  EXPECT_NE(message("clip,clip:2").find("named twice"), std::string::npos);
  EXPECT_NE(message("clip,,nima").find("empty item"), std::string::npos);
  auto floors = parse_metric_floors({"nima", "clip=30.5"}, metrics);
  ASSERT_EQ(floors.size(), 2u);
  EXPECT_FALSE(floors[0].value);
  EXPECT_DOUBLE_EQ(*floors[1].value, 30.5);
  EXPECT_THROW(parse_metric_floors({"nima", "nima=3"}, metrics), Error);
  EXPECT_THROW(parse_metric_floors({"aesthetic"}, metrics), Error);
}

TEST(MetricObjective, StandardisedAndMinMaxCombinationsWeighEachMetricByItsSpread) {
  Matrix clip(2, 2), nima(2, 2);
  clip.data = {30, 34, 32, 31};
  nima.data = {5.0, 5.2, 5.6, 5.1};
  const std::vector<std::string> metrics{"clip", "nima"};
  const std::vector<MetricScale> scales{metric_scale(clip), metric_scale(nima)};
  EXPECT_NEAR(scales[0].mean, 31.75, 1e-12);
  EXPECT_NEAR(scales[0].std, std::sqrt((1.75 * 1.75 + 2.25 * 2.25 + 0.25 * 0.25 + 0.75 * 0.75) / 4), 1e-12);
  EXPECT_DOUBLE_EQ(scales[1].min, 5.0);
  EXPECT_DOUBLE_EQ(scales[1].max, 5.6);
  const Matrix s = combine_metrics(parse_metric_objective("clip:1,nima:2", metrics), metrics, {&clip, &nima}, scales);
  for (std::size_t c = 0; c < 4; ++c)
    EXPECT_NEAR(s.data[c], clip.data[c] / scales[0].std + 2 * nima.data[c] / scales[1].std, 1e-9);
  const Matrix mixed = combine_metrics(parse_metric_objective("mixed", metrics), metrics, {&clip, &nima}, scales);
  for (std::size_t c = 0; c < 4; ++c) EXPECT_NEAR(mixed.data[c], clip.data[c] / 4.0 + nima.data[c] / 0.6, 1e-9);
}

// One floor and a budget: the search's routing meets both, is at least as good as every
// Lagrangian routing on a dense multiplier grid, and within the two straddling prompts of the
// best assignment of all (brute force over 3^8 assignments).
TEST(ConstrainedRouting, OneFloorAndABudgetAgainstBruteForce) {
  std::mt19937 g(7);
  int binding = 0;
  for (int trial = 0; trial < 40; ++trial) {
    const std::size_t n = 8, m = 3;
    const Matrix obj = random_matrix(g, n, m, 0, 1);
    const Matrix other = random_matrix(g, n, m, 0, 1);
    const std::vector<double> cost{1.0, 2.0, 3.5};
    std::uniform_real_distribution<double> u(0, 1);
    const double budget = 1.2 + 1.8 * u(g);
    // the floor: between the budget-only routing's mean and the most the budget affords
    Router plain(cost);
    plain.set_predictions(obj);
    const Routing r0 = plain.route_budget(budget);
    Router greedy(cost);
    greedy.set_predictions(other);
    const double reach = mean_of(other, greedy.route_budget(budget).choice);
    const double base = mean_of(other, r0.choice);
    if (reach <= base) continue;
    RoutingFloor f{"other", &other, base + u(g) * (reach - base)};
    const ConstrainedRouting c = route_with_floors(obj, cost, {}, {f}, budget);
    double spent = 0;
    for (int k : c.routing.choice) spent += cost[k];
    EXPECT_LE(spent / n, budget * (1 + 1e-12)) << "trial " << trial;
    EXPECT_GE(mean_of(other, c.routing.choice), f.floor - 1e-9) << "trial " << trial;
    EXPECT_NEAR(c.routing.mean_predicted, mean_of(obj, c.routing.choice), 1e-12);
    const double grid = grid_lagrangian_optimum(obj, cost, budget, f);
    EXPECT_GE(c.routing.mean_predicted, grid - 1e-9) << "trial " << trial;
    double range = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const auto [lo, hi] = std::minmax_element(obj.row(i), obj.row(i) + m);
      range = std::max(range, *hi - *lo);
    }
    const double opt = brute_force_optimum(obj, cost, budget, {f});
    EXPECT_GE(c.routing.mean_predicted, opt - 2 * range / n) << "trial " << trial;
    binding += c.multipliers[0] > 0;
  }
  EXPECT_GT(binding, 15);  // most trials exercise the multiplier search
}

TEST(ConstrainedRouting, TwoFloorsMeetBothWithinTheStraddlingPromptsOfBruteForce) {
  std::mt19937 g(11);
  int solved = 0;
  for (int trial = 0; trial < 40; ++trial) {
    const std::size_t n = 7, m = 3;
    const Matrix obj = random_matrix(g, n, m, 0, 1);
    const Matrix a = random_matrix(g, n, m, 0, 1), b = random_matrix(g, n, m, 0, 1);
    const std::vector<double> cost{1.0, 1.5, 2.5};
    const double budget = 2.0;
    Router plain(cost);
    plain.set_predictions(obj);
    const Routing r0 = plain.route_budget(budget);
    // floors a little above the budget-only routing's means (feasibility checked by brute force)
    std::vector<RoutingFloor> floors{{"a", &a, mean_of(a, r0.choice) + 0.2}, {"b", &b, mean_of(b, r0.choice) + 0.2}};
    const double opt = brute_force_optimum(obj, cost, budget, floors);
    if (!std::isfinite(opt)) continue;
    ConstrainedRouting c;
    try {
      c = route_with_floors(obj, cost, {}, floors, budget);
    } catch (const Error&) {
      continue;  // a Lagrangian search can miss a feasible set a few assignments wide; counted below
    }
    ++solved;
    for (const auto& f : floors) EXPECT_GE(mean_of(*f.q, c.routing.choice), f.floor - 1e-9) << "trial " << trial;
    double range = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const auto [lo, hi] = std::minmax_element(obj.row(i), obj.row(i) + m);
      range = std::max(range, *hi - *lo);
    }
    EXPECT_GE(c.routing.mean_predicted, opt - 3 * range / n) << "trial " << trial;
  }
  EXPECT_GT(solved, 15);
}

TEST(ConstrainedRouting, FloorsAlreadyMetChangeNothingAndUnreachableOnesAreNamed) {
  std::mt19937 g(3);
  const Matrix obj = random_matrix(g, 50, 4, 0, 1), other = random_matrix(g, 50, 4, 5, 0.3);
  const std::vector<double> cost{0.1, 0.5, 1.5, 0.4};
  Router plain(cost);
  plain.set_predictions(obj);
  const Routing r0 = plain.route_budget(0.45);
  const ConstrainedRouting c = route_with_floors(obj, cost, {}, {{"nima", &other, -100.0}}, 0.45);
  EXPECT_EQ(c.routing.choice, r0.choice);
  EXPECT_EQ(c.multipliers[0], 0.0);
  try {
    route_with_floors(obj, cost, {}, {{"nima", &other, 99.0}}, 0.45);
    FAIL() << "an unreachable floor was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the floor on nima (99) cannot be met within the budget 0.45"),
              std::string::npos)
        << e.what();
  }
  // at a fixed lambda instead of a budget
  const ConstrainedRouting l = route_with_floors(obj, cost, {}, {{"nima", &other, 5.2}}, std::nullopt, 0.3);
  EXPECT_GE(mean_of(other, l.routing.choice), 5.2 - 1e-9);
  EXPECT_DOUBLE_EQ(l.routing.lambda, 0.3);
}
