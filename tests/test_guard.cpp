#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "catimage/eval/cluster_cv.hpp"
#include "catimage/io/cems_import.hpp"
#include "catimage/io/json_file.hpp"
#include "catimage/predictor/prompt_clusters.hpp"
#include "catimage/router/guard.hpp"
#include "catimage/router/routing_policy.hpp"
#include "catimage/util/error.hpp"
#include "catimage/io/quality_table.hpp"
#include "test_util.hpp"

using namespace catimage;

TEST(Guard, DepartsOnlyAboveTheMargin) {
  // Two candidates, B (index 1) the best single; prompt 0 gains 0.5 from A, prompt 1 gains 2.
  Matrix q(3, 2);
  q(0, 0) = 10.5;
  q(0, 1) = 10.0;
  q(1, 0) = 12.0;
  q(1, 1) = 10.0;
  q(2, 0) = 9.0;
  q(2, 1) = 11.0;
  const Matrix g = guarded_predictions(q, 1, 1.0);
  EXPECT_EQ(g(0, 0), 9.5);
  EXPECT_EQ(g(0, 1), 10.0);
  EXPECT_THROW(guarded_predictions(q, 2, 1.0), Error);
  EXPECT_THROW(guarded_predictions(q, 1, -1.0), Error);

  RoutingPolicy policy({"A", "B"}, {1.0, 1.0});
  RoutingRequest req;
  req.lambda = 0.0;
  // Without a guard each prompt goes to its best prediction; nothing is a fallback.
  auto plain = policy.route(q, req);
  EXPECT_EQ(plain.routing.choice, (std::vector<int>{0, 0, 1}));
  EXPECT_EQ(plain.best_single, 0);  // mean 10.5 vs 10.33: A is the best single here
  // Make B the best single on average, then guard with a margin of 1.
  q(2, 1) = 13.0;
  req.margin = 1.0;
  auto guarded = policy.route(q, req);
  EXPECT_EQ(guarded.best_single, 1);
  EXPECT_EQ(guarded.routing.choice, (std::vector<int>{1, 0, 1}));
  EXPECT_DOUBLE_EQ(guarded.guard.margin[0], 0.5);
  EXPECT_DOUBLE_EQ(guarded.guard.margin[1], 2.0);
  EXPECT_DOUBLE_EQ(guarded.guard.margin[2], -4.0);
  EXPECT_EQ(guarded.guard.fallback, (std::vector<char>{1, 0, 0}));
  // the summary's expected quality is the unguarded prediction of what was chosen
  EXPECT_DOUBLE_EQ(guarded.routing.mean_predicted, (10.0 + 12.0 + 13.0) / 3);
  req.margin = 0.4;
  EXPECT_EQ(policy.route(q, req).routing.choice, (std::vector<int>{0, 0, 1}));
  req.margin = -1;
  EXPECT_THROW(policy.route(q, req), Error);
}

TEST(Guard, ClustersArePartitionsSeededAndFollowTheWords) {
  std::vector<std::string> prompts;
  for (int i = 0; i < 20; ++i) prompts.push_back("a fluffy cat and a kitten on a sofa, photo " + std::to_string(i % 4));
  for (int i = 0; i < 20; ++i) prompts.push_back("red sports car racing on a mountain road " + std::to_string(i % 4));
  const auto c = cluster_prompts(prompts, 2, 3);
  ASSERT_EQ(c.label.size(), prompts.size());
  EXPECT_EQ(c.size[0] + c.size[1], prompts.size());
  for (int i = 1; i < 20; ++i) EXPECT_EQ(c.label[i], c.label[0]);
  for (int i = 21; i < 40; ++i) EXPECT_EQ(c.label[i], c.label[20]);
  EXPECT_NE(c.label[0], c.label[20]);
  EXPECT_EQ(cluster_prompts(prompts, 2, 3).label, c.label);
  EXPECT_THROW(cluster_prompts(prompts, 1, 0), Error);
  EXPECT_THROW(cluster_prompts({"a", "b"}, 3, 0), Error);
}

TEST(Guard, LeaveClusterOutChoosesAMarginThatMeetsTheRule) {
  const QualityTable all = load_quality_table(test::shipped_table("clip"));
  std::vector<std::size_t> idx(400);
  for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  const QualityTable t = all.subset(idx);
  GuardCvRequest req;
  req.arm.label = "tfidf-ridge";
  req.arm.train.kind = "tfidf-ridge";
  req.arm.train.hyper = {{"alpha", 10.0}};
  req.clusters = 4;
  req.margins = {0, 0.5, 1, 100};
  req.costs = {0.14, 0.48, 1.5, 0.4};
  const GuardCvResult r = guard_cross_validate(t, req);
  std::size_t rows = 0;
  for (const auto& c : r.clusters) {
    rows += c.rows;
    // a margin no prediction can clear keeps every prompt on the best single: gain exactly 0
    EXPECT_EQ(c.departed.back(), 0.0);
    EXPECT_NEAR(c.gain.back(), 0.0, 1e-9);
  }
  EXPECT_EQ(rows, t.rows.size());
  ASSERT_TRUE(r.met);
  EXPECT_GE(guard_mean_gain(r, r.chosen), 0.0);
  EXPECT_GE(guard_share_at_or_above(r, r.chosen, 0.0), 0.9);
  for (std::size_t k = 0; k < r.chosen; ++k)
    EXPECT_TRUE(guard_mean_gain(r, k) < 0 || guard_share_at_or_above(r, k, 0.0) < 0.9) << "margin " << r.margins[k];
  // the tolerant count includes the strict one
  for (std::size_t k = 0; k < r.margins.size(); ++k)
    EXPECT_GE(guard_share_at_or_above(r, k, 1.0), guard_share_at_or_above(r, k, 0.0));
  // strictly: a margin nothing clears is always at or above (gain exactly 0)
  EXPECT_EQ(guard_share_at_or_above(r, r.margins.size() - 1, 0.0), 1.0);
  EXPECT_NE(guard_cv_markdown(r, "t").find("(chosen)"), std::string::npos);
  // The cascades on the same held-out clusters: one gain each per cluster, none when not asked.
  EXPECT_TRUE(r.cascades.empty());
  req.cascade.first = "SD-Turbo";
  req.clusters = 2;
  const GuardCvResult rc = guard_cross_validate(t, req);
  ASSERT_EQ(rc.cascades.size(), 2u);
  for (const auto& c : rc.clusters) EXPECT_EQ(c.cascade_gain.size(), 2u);
  EXPECT_NE(guard_cv_markdown(rc, "t").find("| cascade + keep-best (SD-Turbo) |"), std::string::npos);
  req.margins = {0.5, 0.1};
  EXPECT_THROW(guard_cross_validate(t, req), Error);
}

TEST(Guard, RouteReportsMarginsAndUsesThePredictorsMargin) {
  auto d = test::temp_dir();
  auto prompts = test::write(d / "p.txt",
                             "a white wall\nhighly detailed portrait of a knight, trending on artstation\n"
                             "two dogs and a cat in a crowded neon street at night, by greg rutkowski\n");
  auto lines = [](const std::string& text) {
    std::vector<json> out;
    std::istringstream in(text);
    std::string l;
    while (std::getline(in, l))
      if (!l.empty()) out.push_back(json::parse(l));
    return out;
  };
  auto r = test::run_catimage("route " + prompts + " --margin 0");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const auto& j : lines(r.out)) {
    ASSERT_TRUE(j["margin"].is_number()) << j.dump();
    EXPECT_FALSE(j["fallback"].get<bool>());
  }
  // A margin no prediction clears: every prompt on one candidate, the best single.
  r = test::run_catimage("route " + prompts + " --margin 1000");
  ASSERT_EQ(r.code, 0) << r.err;
  std::set<std::string> chosen;
  for (const auto& j : lines(r.out)) {
    chosen.insert(j["candidate"].get<std::string>());
    EXPECT_EQ(j["fallback"].get<bool>(), j["margin"].get<double>() > 0) << j.dump();
  }
  EXPECT_EQ(chosen.size(), 1u);

  // train --margin records it; route uses it unless --margin says otherwise.
  const std::string table = test::shipped_table("clip");
  auto p = (d / "pred").string();
  r = test::run_catimage("train -t " + table + " --all --hyper '{\"alpha\":10}' --margin 1000 -o " + p);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(test::slurp(d / "pred" / "predictor.json"))["guard"]["margin"].get<double>(), 1000.0);
  r = test::run_catimage("route " + prompts + " --predictor " + p);
  ASSERT_EQ(r.code, 0) << r.err;
  chosen.clear();
  for (const auto& j : lines(r.out)) chosen.insert(j["candidate"].get<std::string>());
  EXPECT_EQ(chosen.size(), 1u);
}

// Both objectives beside the kept candidate K (the best single): a routing on the sweep can be
// worse than K alone — here the last sweep routing that reaches K's quality puts prompt 0 on the
// expensive E and prompt 1 on the cheap C, at 5.05 per prompt against K's 1.
TEST(Objectives, NeverCostMoreOrPredictLessThanTheBestSingleAlone) {
  RoutingPolicy policy({"K", "E", "C"}, {1.0, 10.0, 0.1});
  Matrix q(2, 3);
  const double v[2][3] = {{0, 5, -10}, {0, 0.1, -0.05}};
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 3; ++k) q(i, k) = v[i][k];
  RoutingRequest req;
  req.reference_quality = {0.0, -1.0, -1.0};  // K is the kept candidate
  req.objective = Objective::savings;
  auto s = policy.route(q, req);
  EXPECT_EQ(s.best_single, 0);
  EXPECT_EQ(s.routing.choice, (std::vector<int>{0, 0}));
  EXPECT_DOUBLE_EQ(s.routing.mean_cost, 1.0);

  // On random batches, with and without a guard: the savings objective costs at most K's cost and
  // reaches K's predicted mean on the routed (guarded) predictions; the quality objective's
  // routing predicts at least K's mean at no more than K's cost.
  std::mt19937 rng(4);
  std::uniform_real_distribution<double> u(0, 1);
  for (int trial = 0; trial < 200; ++trial) {
    const std::size_t n = 1 + trial % 7, m = 2 + trial % 3;
    std::vector<double> costs(m);
    std::vector<std::string> names(m);
    for (std::size_t k = 0; k < m; ++k) {
      costs[k] = 0.1 + 3 * u(rng);
      names[k] = "m" + std::to_string(k);
    }
    Matrix p(n, m);
    for (auto& x : p.data) x = 10 * u(rng);
    RoutingPolicy pol(names, costs);
    RoutingRequest r;
    r.margin = trial % 2 ? 0.5 : 0.0;
    for (Objective o : {Objective::savings, Objective::quality}) {
      r.objective = o;
      auto out = pol.route(p, r);
      const int keep = out.best_single;
      const Matrix g = r.margin > 0 ? guarded_predictions(p, keep, r.margin) : p;
      double guarded_mean = 0;
      for (std::size_t i = 0; i < n; ++i) guarded_mean += g(i, out.routing.choice[i]);
      guarded_mean /= n;
      EXPECT_LE(out.routing.mean_cost, costs[keep] * (1 + 1e-12)) << "trial " << trial << " " << objective_name(o);
      EXPECT_GE(guarded_mean, out.mean_predicted[keep] - 1e-9) << "trial " << trial << " " << objective_name(o);
    }
  }
}
