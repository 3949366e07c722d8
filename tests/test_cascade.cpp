#include <gtest/gtest.h>

#include <cmath>

#include "catimage/eval/cascade_eval.hpp"
#include "catimage/eval/cross_validation.hpp"
#include "catimage/eval/metrics.hpp"
#include "catimage/io/cems_import.hpp"
#include "catimage/io/json_file.hpp"
#include "catimage/predictor/cascade_predictor.hpp"
#include "catimage/predictor/predictor.hpp"
#include "catimage/router/cascade.hpp"
#include "catimage/router/router.hpp"
#include "catimage/util/error.hpp"
#include "catimage/io/quality_table.hpp"
#include "test_util.hpp"

using namespace catimage;

namespace {

QualityTable cems_rows(std::size_t n) {
  const QualityTable all = load_quality_table(test::shipped_table("clip"));
  std::vector<std::size_t> idx(n);
  for (std::size_t i = 0; i < n; ++i) idx[i] = i;
  return all.subset(idx);
}

}  // namespace

TEST(Cascade, OptionsArePricedAsDocumented) {
  const std::vector<double> costs = {1.0, 3.0, 10.0};
  EXPECT_EQ(cascade_costs(costs, {0, 0.5, false}), (std::vector<double>{1.5, 4.5, 11.5}));
  EXPECT_EQ(cascade_costs(costs, {0, 0.5, true}), (std::vector<double>{1.5, 5.0, 12.0}));
  EXPECT_EQ(cascade_costs(costs, {1, 0.0, false}), (std::vector<double>{4.0, 3.0, 13.0}));
  EXPECT_THROW(cascade_costs(costs, {3, 0, false}), Error);
  EXPECT_THROW(cascade_costs(costs, {0, -1, false}), Error);

  // E[max(0, D)], D ~ N(mu, sigma^2): phi(0) at mu = 0, and the positive part when sigma = 0.
  EXPECT_NEAR(expected_positive_part(0.0, 1.0), 1.0 / std::sqrt(2 * M_PI), 1e-12);
  EXPECT_NEAR(expected_positive_part(0.0, 2.0), 2.0 / std::sqrt(2 * M_PI), 1e-12);
  EXPECT_NEAR(expected_positive_part(10.0, 1.0), 10.0, 1e-9);
  EXPECT_NEAR(expected_positive_part(-10.0, 1.0), 0.0, 1e-9);
  EXPECT_EQ(expected_positive_part(-1.0, 0.0), 0.0);
  EXPECT_EQ(expected_positive_part(2.0, 0.0), 2.0);

  Matrix diff(2, 3);
  diff(0, 1) = 2.0;
  diff(0, 2) = -1.0;
  diff(1, 1) = -3.0;
  diff(1, 2) = 0.5;
  diff(0, 0) = 99;  // FIRST's column is ignored
  const std::vector<double> observed = {30.0, 20.0}, sigma = {0.0, 1.0, 1.0};
  Matrix p = cascade_predicted(observed, diff, sigma, {0, 0, false});
  EXPECT_EQ(p(0, 0), 30.0);
  EXPECT_EQ(p(0, 1), 32.0);
  EXPECT_EQ(p(0, 2), 29.0);
  EXPECT_EQ(p(1, 1), 17.0);
  Matrix kb = cascade_predicted(observed, diff, sigma, {0, 0, true});
  EXPECT_EQ(kb(1, 0), 20.0);
  EXPECT_NEAR(kb(1, 2), 20.0 + expected_positive_part(0.5, 1.0), 1e-12);
  EXPECT_GE(kb(0, 2), 30.0);  // keep-best never expects less than the first image

  Matrix truth(2, 3);
  truth(0, 0) = 30;
  truth(0, 1) = 31;
  truth(0, 2) = 25;
  truth(1, 0) = 20;
  truth(1, 1) = 18;
  truth(1, 2) = 22;
  // keep-best selects by `truth`, then the kept image is valued by another metric
  Matrix judge(2, 3);
  for (std::size_t i = 0; i < 6; ++i) judge.data[i] = 100 + i;
  Matrix judged = cascade_realised(truth, {0, 0, true}, &judge);
  EXPECT_EQ(judged(0, 1), judge(0, 1));  // 31 > 30: the second image is kept
  EXPECT_EQ(judged(0, 2), judge(0, 0));  // 25 < 30: the first is kept
  EXPECT_EQ(judged(1, 2), judge(1, 2));
  EXPECT_EQ(cascade_realised(truth, {0, 0, false}, &judge).data, judge.data);
  Matrix plain = cascade_realised(truth, {0, 0, false});
  EXPECT_EQ(plain.data, truth.data);
  Matrix best = cascade_realised(truth, {0, 0, true});
  EXPECT_EQ(best(0, 2), 30.0);
  EXPECT_EQ(best(1, 1), 20.0);
  EXPECT_EQ(best(1, 2), 22.0);
}

TEST(Cascade, PerfectDifferencesReachTheOracleAtNoCostWeight) {
  // With the true differences and lambda = 0, every prompt ends on its best candidate.
  const QualityTable t = cems_rows(200);
  const Matrix truth = t.quality_matrix();
  const std::vector<double> costs = {0.14, 0.48, 1.5, 0.4};
  Matrix diff(truth.rows, truth.cols);
  for (std::size_t i = 0; i < truth.rows; ++i)
    for (std::size_t k = 0; k < truth.cols; ++k) diff(i, k) = truth(i, k) - truth(i, 0);
  EvalResult e = evaluate(truth, truth, costs, t.candidates);
  add_cascade_router(e, truth, diff, {0, 0, 0, 0}, {0, 0.0, false});
  ASSERT_EQ(e.extra.size(), 1u);
  EXPECT_EQ(e.extra[0].name, "cascade (SD-Turbo)");
  EXPECT_NEAR(e.extra[0].figures.max_quality, e.oracle.max_quality, 1e-9);
  // Every point of its curve costs at least FIRST's cost: FIRST is always paid.
  for (const auto& p : e.extra[0].curve) EXPECT_GE(p.cost, 0.14 - 1e-12);
  ASSERT_TRUE(e.extra[0].departed_at_best_single_cost.has_value());
  EXPECT_GT(*e.extra[0].departed_at_best_single_cost, 0.0);
  EXPECT_LT(*e.extra[0].departed_at_best_single_cost, 1.0);
}

TEST(Cascade, PredictorTrainsSavesLoadsAndIsRefusedAsPromptOnly) {
  const QualityTable t = cems_rows(300);
  CascadeTrainRequest r;
  r.first = "SD-Turbo";
  r.metric = "clip";
  auto p = train_cascade_predictor(t, r);
  EXPECT_EQ(p->first_index(), 0);
  std::vector<std::string> prompts;
  std::vector<double> low, high;
  for (std::size_t i = 0; i < 20; ++i) {
    prompts.push_back(t.rows[i].prompt);
    low.push_back(p->meta().observed_mean - 2 * p->meta().observed_std);
    high.push_back(p->meta().observed_mean + 2 * p->meta().observed_std);
  }
  const Matrix dl = p->predict_differences(prompts, low), dh = p->predict_differences(prompts, high);
  double mean_gap = 0;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(dl(i, 0), 0.0);
    for (std::size_t k = 1; k < 4; ++k) mean_gap += dl(i, k) - dh(i, k);
  }
  // A poor first image leaves more to gain from another candidate than a good one.
  EXPECT_GT(mean_gap, 0.0);
  for (std::size_t k = 1; k < 4; ++k) {
    EXPECT_GT(p->meta().error_std[k], 0.0);
    // out of fold, the predicted differences beat their own mean (the error is below their spread)
    EXPECT_LT(p->meta().error_std[k], p->meta().diff_std[k]);
  }

  const auto dir = test::temp_dir() / "cascade";
  p->save(dir.string());
  EXPECT_TRUE(is_cascade_predictor(dir.string()));
  auto q = load_cascade_predictor(dir.string());
  const Matrix again = q->predict_differences(prompts, low);
  EXPECT_EQ(again.data, dl.data);  // the saved copy predicts bit for bit what was trained
  EXPECT_EQ(q->meta().first, "SD-Turbo");
  try {
    load_predictor(dir.string());
    FAIL() << "a cascade predictor loaded as a prompt-only one";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--cascade-predictor"), std::string::npos) << e.what();
  }
  r.first = "nope";
  try {
    train_cascade_predictor(t, r);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a candidate"), std::string::npos) << e.what();
  }
}

TEST(Cascade, CrossValidationAddsPairedCascadeArms) {
  const QualityTable t = cems_rows(300);
  CvRequest req;
  req.folds = 3;
  req.costs = {0.14, 0.48, 1.5, 0.4};
  req.names = t.candidates;
  CvArm arm;
  arm.label = "tfidf-ridge";
  arm.train.kind = "tfidf-ridge";
  arm.train.hyper = {{"alpha", 10.0}};
  req.arms = {arm};
  req.val_fraction = 0.1;
  req.cascade.first = "SD-Turbo";
  const CvResult r = cross_validate(t, req);
  ASSERT_EQ(r.arms.size(), 3u);
  EXPECT_EQ(r.arms[1], "cascade (SD-Turbo)");
  EXPECT_EQ(r.arms[2], "cascade + keep-best (SD-Turbo)");
  const auto q = cv_figure_index("quality_at_best_single_cost");
  for (const auto& run : r.runs) {
    ASSERT_EQ(run.figures.size(), 3u);
    // Every arm is judged on the same held-out rows against the same best single candidate.
    const auto b = cv_figure_index("best_single_quality");
    EXPECT_EQ(run.figures[1][b], run.figures[0][b]);
    EXPECT_EQ(run.figures[2][b], run.figures[0][b]);
  }
  EXPECT_NO_THROW(paired_stats(r, q, 2));
  EXPECT_THROW(paired_stats(r, q, 3), Error);
  const std::string md = cv_markdown(r, "t");
  EXPECT_NE(md.find("cascade + keep-best (SD-Turbo) − tfidf-ridge"), std::string::npos) << md;
  EXPECT_EQ(cv_json(r)["paired_differences"].size(), 2u);

  // Judged on the same table: the same figures.
  req.judge = t;
  const CvResult same = cross_validate(t, req);
  ASSERT_EQ(same.runs.size(), r.runs.size());
  for (std::size_t f = 0; f < r.runs.size(); ++f) EXPECT_EQ(same.runs[f].figures, r.runs[f].figures);
  req.judge = QualityTable{};

  req.test_max_words = 6;
  req.cascade.first.clear();
  const CvResult s = cross_validate(t, req);
  std::size_t tested = 0;
  for (const auto& run : s.runs) tested += run.test_rows;
  std::size_t short_rows = 0;
  for (const auto& row : t.rows) {
    std::size_t w = 0;
    bool in = false;
    for (unsigned char c : row.prompt) {
      if (!std::isspace(c) && !in) ++w;
      in = !std::isspace(c);
    }
    short_rows += w <= 6;
  }
  EXPECT_EQ(tested, short_rows);
}

TEST(Cascade, EvalReportsBothCascadesBesideThePlainRouter) {
  auto d = test::temp_dir();
  const std::string table = test::shipped_table("clip");
  const auto out = d / "eval";
  auto r = test::run_catimage("eval -t " + table + " --cascade-predictor " + std::string(CATIMAGE_SOURCE_DIR) +
                              "/models/cascade-clip --score-cost 0.01 --json -o " + out.string());
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  ASSERT_EQ(j["routers"].size(), 2u);
  EXPECT_EQ(j["routers"][0]["name"], "cascade (SD-Turbo)");
  EXPECT_EQ(j["routers"][1]["name"], "cascade + keep-best (SD-Turbo)");
  // every cascade routing pays for SD-Turbo and its scoring
  for (const auto& p : j["routers"][0]["curve"]) EXPECT_GE(p["cost"].get<double>(), 0.01);
  const double share = j["routers"][0]["departed_at_best_single_cost"].get<double>();
  EXPECT_GT(share, 0.0);
  EXPECT_LT(share, 1.0);
  EXPECT_NE(test::slurp(out / "eval.md").find("| cascade + keep-best (SD-Turbo) |"), std::string::npos);
  EXPECT_NE(test::slurp(out / "curves.csv").find("cascade (SD-Turbo),"), std::string::npos);
  // a cascade predictor whose candidates are not the table's is refused by name
  r = test::run_catimage("eval -t " + table + " -c " + std::string(CATIMAGE_SOURCE_DIR) +
                         "/configs/default.json --cascade-predictor " + std::string(CATIMAGE_SOURCE_DIR) +
                         "/models/predictor-clip");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("cascade"), std::string::npos) << r.err;
}
