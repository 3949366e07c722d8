#include <gtest/gtest.h>

#include "catimage/eval/metrics.hpp"
#include "catimage/eval/report.hpp"
#include "catimage/eval/step_ladder.hpp"

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

TEST(StepLadder, NamesMeansAndChosenPromptsByHand) {
  std::string fam;
  int s = 0;
  EXPECT_TRUE(parse_ladder_name("SD-Turbo@16", fam, s));
  EXPECT_EQ(fam, "SD-Turbo");
  EXPECT_EQ(s, 16);
  for (const char* bad : {"plain", "@4", "a@", "a@0", "a@x1", "a@1.5", "a@12345678"})
    EXPECT_FALSE(parse_ladder_name(bad, fam, s)) << bad;
  QualityTable t;
  t.candidates = {"A@4", "A@1", "B@1", "A@2", "B@8", "solo@3"};
  // rows: A@4, A@1, B@1, A@2, B@8, solo@3
  t.rows = {{"p1", "flat", {10, 10, 5, 10, 6, 0}, {}, 1},
            {"p2", "steep", {30, 10, 5, 20, 7, 0}, {}, 2},
            {"p3", "middle", {20, 10, 5, 15, 8, 0}, {}, 3}};
  const StepLadders l = step_ladders(t);
  ASSERT_EQ(l.families.size(), 2u);  // solo has one rung: no ladder
  EXPECT_EQ(l.families[0].label, "A");
  EXPECT_EQ(l.families[0].steps, (std::vector<int>{1, 2, 4}));
  EXPECT_EQ(l.families[0].quality, (std::vector<double>{10, 15, 20}));
  EXPECT_EQ(l.families[1].steps, (std::vector<int>{1, 8}));
  EXPECT_EQ(l.families[1].quality, (std::vector<double>{5, 7}));
  EXPECT_EQ(l.prompts_family, "A");
  ASSERT_EQ(l.prompts.size(), 3u);  // gains 0, 20, 10 from 1 to 4 steps
  EXPECT_EQ(l.prompts[0].label.substr(0, 2), "p1");
  EXPECT_EQ(l.prompts[1].label.substr(0, 2), "p3");
  EXPECT_EQ(l.prompts[2].label.substr(0, 2), "p2");
  EXPECT_EQ(l.prompts[2].quality, (std::vector<double>{10, 20, 30}));
  const std::string csv = step_ladders_csv(l);
  EXPECT_NE(csv.find("family,\"A\",2,15.000000\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("prompt,\"p2 (gains most): steep\",4,30.000000\n"), std::string::npos) << csv;
  QualityTable plain;
  plain.candidates = {"x", "y"};
  plain.rows = {{"1", "a", {1, 2}, {}, 1}};
  EXPECT_TRUE(step_ladders(plain).families.empty());
}
