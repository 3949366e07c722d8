#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "catimage/router/lambda_sweep.hpp"
#include "catimage/router/router.hpp"
#include "catimage/util/error.hpp"

using namespace catimage;

namespace {

// Brute force: argmax q - lambda*c, ties to the cheaper candidate, then the lower index.
int brute_choice(const double* q, const std::vector<double>& c, double lambda, const std::vector<char>& allowed = {}) {
  int best = -1;
  for (std::size_t k = 0; k < c.size(); ++k) {
    if (!allowed.empty() && !allowed[k]) continue;
    if (best < 0) {
      best = static_cast<int>(k);
      continue;
    }
    double a = q[k] - lambda * c[k], b = q[best] - lambda * c[best];
    if (a > b + 1e-9 || (std::abs(a - b) <= 1e-9 && c[k] < c[best])) best = static_cast<int>(k);
  }
  return best;
}

struct Problem {
  Matrix q;
  std::vector<double> c;
};

Problem random_problem(std::mt19937& rng, std::size_t n, std::size_t m, bool integer_values) {
  std::uniform_real_distribution<double> u(0, 1);
  std::uniform_int_distribution<int> ui(0, 4);
  Problem p{Matrix(n, m), std::vector<double>(m)};
  for (auto& v : p.q.data) v = integer_values ? ui(rng) : u(rng) * 10;
  for (auto& v : p.c) v = integer_values ? 1 + ui(rng) : 0.1 + u(rng) * 3;
  return p;
}

// All lambdas worth trying: every pairwise crossing per prompt, and points between them.
std::vector<double> critical_lambdas(const Problem& p) {
  std::set<double> xs = {0.0};
  for (std::size_t i = 0; i < p.q.rows; ++i)
    for (std::size_t a = 0; a < p.c.size(); ++a)
      for (std::size_t b = 0; b < p.c.size(); ++b)
        if (p.c[a] > p.c[b]) {
          double x = (p.q(i, a) - p.q(i, b)) / (p.c[a] - p.c[b]);
          if (x >= 0) xs.insert(x);
        }
  std::vector<double> v(xs.begin(), xs.end());
  std::vector<double> out = v;
  for (std::size_t i = 0; i + 1 < v.size(); ++i) out.push_back((v[i] + v[i + 1]) / 2);
  out.push_back(v.back() + 1);
  out.push_back(v.back() * 2 + 100);
  return out;
}

}  // namespace

TEST(RoutingPath, MatchesBruteForceAtEveryLambda) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    bool ints = trial % 2 == 0;  // integer values force many exact ties
    auto p = random_problem(rng, 1 + trial % 5, 2 + trial % 6, ints);
    Router r(p.c);
    r.set_predictions(p.q);
    for (double l : critical_lambdas(p)) {
      auto routing = r.route_lambda(l);
      for (std::size_t i = 0; i < p.q.rows; ++i)
        ASSERT_EQ(routing.choice[i], brute_choice(p.q.row(i), p.c, l))
            << "trial " << trial << " prompt " << i << " lambda " << l;
    }
  }
}

TEST(RoutingPath, TiesGoToTheCheaperCandidate) {
  // q - l*c: A = 5 - 2l, B = 3 - l; equal at l = 2
  std::vector<double> q = {5, 3}, c = {2, 1};
  auto path = RoutingPath::build(q.data(), c.data(), 2);
  EXPECT_EQ(path.at(0), 0);
  EXPECT_EQ(path.at(1.999), 0);
  EXPECT_EQ(path.at(2.0), 1);  // tie: cheaper
  // equal predicted quality at lambda 0: cheaper wins
  std::vector<double> q2 = {4, 4, 1};
  std::vector<double> c2 = {3, 2, 1};
  EXPECT_EQ(RoutingPath::build(q2.data(), c2.data(), 3).at(0), 1);
  // equal cost, equal quality: lower index
  std::vector<double> q3 = {4, 4}, c3 = {1, 1};
  EXPECT_EQ(RoutingPath::build(q3.data(), c3.data(), 2).at(0), 0);
}

TEST(RoutingPath, RespectsAllowedMask) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 100; ++trial) {
    auto p = random_problem(rng, 3, 5, trial % 2);
    std::vector<char> allowed = {1, 0, 1, 0, 1};
    Router r(p.c, allowed);
    r.set_predictions(p.q);
    for (double l : critical_lambdas(p)) {
      auto routing = r.route_lambda(l);
      for (std::size_t i = 0; i < p.q.rows; ++i) {
        EXPECT_TRUE(allowed[routing.choice[i]]);
        EXPECT_EQ(routing.choice[i], brute_choice(p.q.row(i), p.c, l, allowed));
      }
    }
  }
  std::vector<double> c = {1, 2};
  Matrix q(1, 2);
  Router none(c, {0, 0});
  EXPECT_THROW(none.set_predictions(q), Error);
}

TEST(Budget, NeverExceedsAndIsOptimalAmongLambdaRoutings) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(0, 1);
  for (int trial = 0; trial < 150; ++trial) {
    auto p = random_problem(rng, 1 + trial % 9, 2 + trial % 4, trial % 3 == 0);
    Router r(p.c);
    r.set_predictions(p.q);
    double lo = *std::min_element(p.c.begin(), p.c.end());
    double hi = *std::max_element(p.c.begin(), p.c.end());
    // all lambda-routings by brute force
    struct Cand {
      double cost, quality;
    };
    std::vector<Cand> all;
    for (double l : critical_lambdas(p)) {
      double c = 0, q = 0;
      for (std::size_t i = 0; i < p.q.rows; ++i) {
        int k = brute_choice(p.q.row(i), p.c, l);
        c += p.c[k];
        q += p.q(i, k);
      }
      all.push_back({c / p.q.rows, q / p.q.rows});
    }
    for (int b = 0; b < 10; ++b) {
      double budget = lo + (hi - lo) * u(rng);
      auto routing = r.route_budget(budget);
      EXPECT_LE(routing.mean_cost, budget * (1 + 1e-12));
      double best = -1e300;
      for (const auto& a : all)
        if (a.cost <= budget * (1 + 1e-12)) best = std::max(best, a.quality);
      EXPECT_NEAR(routing.mean_predicted, best, 1e-9) << "trial " << trial << " budget " << budget;
      // the reported lambda reproduces the routing
      EXPECT_EQ(r.route_lambda(routing.lambda).choice, routing.choice);
    }
    // the budget exactly at a routing's cost is met by that routing
    auto at = r.route_budget(all.front().cost);
    EXPECT_NEAR(at.mean_predicted, all.front().quality, 1e-9);
  }
}

TEST(Budget, InfeasibleBudgetIsAClearError) {
  Matrix q(2, 2);
  q(0, 0) = 1;
  q(0, 1) = 2;
  q(1, 0) = 3;
  q(1, 1) = 1;
  Router r({1.0, 2.0});
  r.set_predictions(q);
  try {
    r.route_budget(0.5);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cheapest possible average cost 1"), std::string::npos) << e.what();
  }
  EXPECT_EQ(r.route_budget(1.0).choice, (std::vector<int>{0, 0}));
  EXPECT_EQ(r.route_budget(1.5).choice, (std::vector<int>{1, 0}));
  EXPECT_DOUBLE_EQ(r.route_budget(1.5).mean_cost, 1.5);
  EXPECT_THROW(r.route_lambda(-1), Error);
}

TEST(Sweep, VisitsEveryDistinctRoutingOnce) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 60; ++trial) {
    auto p = random_problem(rng, 4, 4, trial % 2);
    Router r(p.c);
    r.set_predictions(p.q);
    std::set<std::vector<int>> brute;
    for (double l : critical_lambdas(p)) {  // the reference is the brute-force argmax, not the router
      std::vector<int> c(p.q.rows);
      for (std::size_t i = 0; i < p.q.rows; ++i) c[i] = brute_choice(p.q.row(i), p.c, l);
      brute.insert(c);
    }
    std::set<std::vector<int>> swept;
    std::size_t visits = 0;
    auto ev = sweep_events(r.paths());
    for_each_routing(r.paths(), ev, [&](double l, const std::vector<int>& c, std::size_t, std::size_t) {
      swept.insert(c);
      ++visits;
      EXPECT_EQ(r.route_lambda(l).choice, c);
      return true;
    });
    EXPECT_EQ(swept, brute);
    EXPECT_EQ(visits, swept.size());
  }
}

TEST(MinCost, IsTheCheapestLambdaRoutingThatReachesTheTarget) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> u(0, 1);
  for (int trial = 0; trial < 150; ++trial) {
    auto p = random_problem(rng, 1 + trial % 9, 2 + trial % 4, trial % 3 == 0);
    Router r(p.c);
    r.set_predictions(p.q);
    struct Cand {
      double cost, quality;
    };
    std::vector<Cand> all;  // every lambda-routing, by brute force
    double top = -1e300, bottom = 1e300;
    for (double l : critical_lambdas(p)) {
      double c = 0, q = 0;
      for (std::size_t i = 0; i < p.q.rows; ++i) {
        int k = brute_choice(p.q.row(i), p.c, l);
        c += p.c[k];
        q += p.q(i, k);
      }
      all.push_back({c / p.q.rows, q / p.q.rows});
      top = std::max(top, q / p.q.rows);
      bottom = std::min(bottom, q / p.q.rows);
    }
    for (int t = 0; t < 10; ++t) {
      const double target = bottom + (top - bottom) * u(rng);
      auto routing = r.route_min_cost(target);
      EXPECT_GE(routing.mean_predicted, target - 1e-9) << "trial " << trial;
      double cheapest = 1e300;
      for (const auto& a : all)
        if (a.quality >= target - 1e-9) cheapest = std::min(cheapest, a.cost);
      EXPECT_NEAR(routing.mean_cost, cheapest, 1e-9) << "trial " << trial << " target " << target;
      EXPECT_EQ(r.route_lambda(routing.lambda).choice, routing.choice);
    }
    // a routing's own quality as the target is met at no more than its cost
    for (const auto& a : all) EXPECT_LE(r.route_min_cost(a.quality).mean_cost, a.cost + 1e-9);
    EXPECT_THROW(r.route_min_cost(top + 1), Error);
  }
}
