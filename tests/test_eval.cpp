#include <gtest/gtest.h>

#include "catimage/eval/metrics.hpp"
#include "catimage/eval/report.hpp"

using namespace catimage;

// Hand-computed case: 2 prompts, candidates cheap (cost 1) and dear (cost 3).
//   prompt 0: cheap 1, dear 3      prompt 1: cheap 2, dear 2
// singles: cheap (1.5 @ 1), dear (2.5 @ 3) -> best single = dear.
// Oracle: prompt 0 switches to cheap at lambda 1, prompt 1 is always cheap (tie -> cheaper):
//   routings {dear, cheap} (2.5 @ 2) and {cheap, cheap} (1.5 @ 1).
TEST(Eval, HandComputedFigures) {
  Matrix truth(2, 2);
  truth(0, 0) = 1;
  truth(0, 1) = 3;
  truth(1, 0) = 2;
  truth(1, 1) = 2;
  std::vector<double> costs = {1, 3};
  // A router that predicts the opposite of the truth on prompt 0 and prefers dear on prompt 1.
  Matrix pred(2, 2);
  pred(0, 0) = 3;
  pred(0, 1) = 1;
  pred(1, 0) = 1;
  pred(1, 1) = 2;
  auto r = evaluate(truth, pred, costs, {"cheap", "dear"});
  EXPECT_EQ(r.best_single, 1);
  EXPECT_EQ(r.cheapest, 0);
  EXPECT_DOUBLE_EQ(r.singles[0].quality, 1.5);
  EXPECT_DOUBLE_EQ(r.singles[1].quality, 2.5);
  EXPECT_DOUBLE_EQ(r.random.quality, 2.0);
  EXPECT_DOUBLE_EQ(r.random.cost, 2.0);

  ASSERT_EQ(r.oracle_curve.size(), 2u);
  EXPECT_DOUBLE_EQ(r.oracle.max_quality, 2.5);
  EXPECT_DOUBLE_EQ(r.oracle.quality_at_best_single_cost, 2.5);
  EXPECT_DOUBLE_EQ(*r.oracle.cost_to_match_best_single, 2.0 / 3.0);
  // hull: (1, 1.5) -> (2, 2.5), flat after; AIQ over [1, 3] = (2.0*1 + 2.5*1) / 2 = 2.25
  EXPECT_DOUBLE_EQ(r.oracle.aiq, 2.25);
  // APGR: weak (1.5 @ 1), strong (2.5 @ 3); PGR = 0 on [1,2), 1 on [2,3) -> 0.5
  EXPECT_DOUBLE_EQ(*r.oracle.apgr, 0.5);
  // the oracle's own gain at the best single's cost is 0 -> nothing to capture
  EXPECT_FALSE(r.oracle.oracle_gap_captured.has_value());

  // Router: lambda 0 -> {cheap, dear}: quality (1+2)/2 = 1.5 at cost 2; prompt 1 switches at
  // lambda 0.5 -> {cheap, cheap}: 1.5 at cost 1. It never matches the best single.
  ASSERT_EQ(r.router_curve.size(), 2u);
  EXPECT_DOUBLE_EQ(r.router_curve[0].cost, 2.0);
  EXPECT_DOUBLE_EQ(r.router_curve[0].quality, 1.5);
  EXPECT_DOUBLE_EQ(r.router_curve[1].lambda, 0.5);
  EXPECT_DOUBLE_EQ(r.router.max_quality, 1.5);
  EXPECT_FALSE(r.router.cost_to_match_best_single.has_value());
  EXPECT_DOUBLE_EQ(r.router.aiq, 1.5);
  EXPECT_DOUBLE_EQ(*r.router.apgr, 0.0);

  auto j = eval_json(r);
  EXPECT_EQ(j["best_single"], "dear");
  EXPECT_TRUE(j["router"]["cost_to_match_best_single"].is_null());
  EXPECT_EQ(j["curve"].size(), 2u);
  EXPECT_DOUBLE_EQ(j["singles"]["cheap"]["quality"].get<double>(), 1.5);
}

TEST(Eval, GapCapturedIsTheShareOfTheOraclesGain) {
  // 4 prompts; cost 1 vs 2. Truth: prompts 0,1 better on cheap (2 vs 1), prompts 2,3 better on dear (3 vs 1).
  Matrix truth(4, 2);
  double t[4][2] = {{2, 1}, {2, 1}, {1, 3}, {1, 3}};
  for (int i = 0; i < 4; ++i)
    for (int k = 0; k < 2; ++k) truth(i, k) = t[i][k];
  // router knows prompts 0 and 2 only; predicts dear otherwise
  Matrix pred(4, 2);
  double p[4][2] = {{2, 1}, {1, 2}, {1, 3}, {1, 2}};
  for (int i = 0; i < 4; ++i)
    for (int k = 0; k < 2; ++k) pred(i, k) = p[i][k];
  auto r = evaluate(truth, pred, {1, 2}, {"cheap", "dear"});
  // best single: dear, (1+1+3+3)/4 = 2 at cost 2. Oracle at cost <= 2: 2.5. Router at lambda 0:
  // {cheap, dear, dear, dear} = (2+1+3+3)/4 = 2.25 at cost 1.75.
  EXPECT_DOUBLE_EQ(r.singles[1].quality, 2.0);
  EXPECT_DOUBLE_EQ(r.oracle.quality_at_best_single_cost, 2.5);
  EXPECT_DOUBLE_EQ(r.router.quality_at_best_single_cost, 2.25);
  EXPECT_DOUBLE_EQ(*r.router.oracle_gap_captured, 0.5);
  // at lambda 1 prompts 1 and 3 move to cheap: {cheap, cheap, dear, cheap} = 2.0 at cost 1.25,
  // which matches the best single's quality
  EXPECT_DOUBLE_EQ(*r.router.cost_to_match_best_single, 1.25 / 2);
}

TEST(Eval, AreaUnderHullIgnoresDominatedPoints) {
  std::vector<CurvePoint> c = {{0, 1, 1, 0}, {0, 2, 1.2, 0}, {0, 3, 3, 0}, {0, 4, 2, 0}};
  // hull (1,1) -> (3,3), then flat at 3 to 5: area over [1,5] = 4 + 6 = 10 -> 2.5
  EXPECT_DOUBLE_EQ(area_under_hull(c, 1, 5), 2.5);
  auto h = nondecreasing_hull(c);
  ASSERT_EQ(h.size(), 2u);
  EXPECT_DOUBLE_EQ(h[1].cost, 3);
}
