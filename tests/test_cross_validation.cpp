#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>

#include "catimage/eval/validation_scorer.hpp"
#include "catimage/eval/cross_validation.hpp"
#include "catimage/eval/metrics.hpp"
#include "catimage/io/cems_import.hpp"
#include "catimage/io/table_split.hpp"
#include "catimage/util/error.hpp"
#include "catimage/io/quality_table.hpp"
#include "test_util.hpp"

using namespace catimage;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

QualityTable cems_rows(std::size_t n) {
  const QualityTable all = load_quality_table(test::shipped_table("clip"));
  std::vector<std::size_t> idx(n);
  for (std::size_t i = 0; i < n; ++i) idx[i] = i;
  return all.subset(idx);
}

}  // namespace

TEST(CrossValidation, FoldsAreDisjointCoverEveryRowAndAreSeeded) {
  for (std::size_t rows : {10u, 11u, 103u})
    for (int k : {2, 5, 7}) {
      auto folds = kfold_indices(rows, k, 42);
      ASSERT_EQ(folds.size(), static_cast<std::size_t>(k));
      std::set<std::size_t> seen;
      std::size_t lo = rows, hi = 0;
      for (const auto& f : folds) {
        lo = std::min(lo, f.size());
        hi = std::max(hi, f.size());
        EXPECT_TRUE(std::is_sorted(f.begin(), f.end()));
        for (auto i : f) {
          EXPECT_LT(i, rows);
          EXPECT_TRUE(seen.insert(i).second) << "row " << i << " is in two folds";
        }
      }
      EXPECT_EQ(seen.size(), rows);
      EXPECT_LE(hi - lo, 1u);
      EXPECT_EQ(kfold_indices(rows, k, 42), folds);
    }
  EXPECT_NE(kfold_indices(103, 5, 1), kfold_indices(103, 5, 2));
  EXPECT_THROW(kfold_indices(10, 1, 0), Error);
  EXPECT_THROW(kfold_indices(3, 5, 0), Error);
}

TEST(CrossValidation, FoldStatisticsByHand) {
  auto s = fold_stats({1.0, 2.0, kNaN, 3.0});
  EXPECT_EQ(s.n, 3u);
  EXPECT_DOUBLE_EQ(s.mean, 2.0);
  EXPECT_DOUBLE_EQ(s.std, 1.0);  // sample std of 1, 2, 3
  EXPECT_EQ(s.positive, 3u);
  auto one = fold_stats({-0.5});
  EXPECT_EQ(one.n, 1u);
  EXPECT_EQ(one.std, 0.0);
  EXPECT_EQ(one.positive, 0u);
  EXPECT_EQ(fold_stats({kNaN}).n, 0u);
}

TEST(CrossValidation, PairedDifferencesOnAHandMadeResult) {
  const std::size_t F = cv_figures().size(), gain = cv_figure_index("gain_over_best_single");
  CvResult r;
  r.arms = {"a", "b"};
  const double a[] = {0.10, 0.20, 0.00, 0.05}, b[] = {0.30, 0.10, 0.20, kNaN};
  for (int f = 0; f < 4; ++f) {
    CvFold run;
    run.fold = f;
    run.figures = {std::vector<double>(F, 0.0), std::vector<double>(F, 0.0)};
    run.figures[0][gain] = a[f];
    run.figures[1][gain] = b[f];
    r.runs.push_back(run);
  }
  // differences on folds where both are defined: +0.2, -0.1, +0.2
  auto d = paired_stats(r, gain);
  EXPECT_EQ(d.n, 3u);
  EXPECT_NEAR(d.mean, 0.1, 1e-12);
  EXPECT_NEAR(d.std, std::sqrt((0.01 + 0.04 + 0.01) / 2), 1e-12);
  EXPECT_EQ(d.positive, 2u);
  EXPECT_NEAR(arm_stats(r, 0, gain).mean, 0.0875, 1e-12);
  EXPECT_EQ(arm_stats(r, 1, gain).n, 3u);
  EXPECT_THROW(cv_figure_index("no-such-figure"), Error);
  r.arms = {"a"};
  EXPECT_THROW(paired_stats(r, gain), Error);
}

TEST(CrossValidation, EachFoldIsAnIndependentTrainAndEvaluate) {
  const QualityTable t = cems_rows(240);
  CvRequest req;
  req.folds = 3;
  req.repeats = 2;
  req.seed = 5;
  req.costs = t.mean_costs();
  req.names = t.candidates;
  CvArm arm;
  arm.label = "tfidf-ridge";
  arm.train.kind = "tfidf-ridge";
  req.arms = {arm, arm};
  req.arms[1].label = "again";
  const CvResult r = cross_validate(t, req);
  ASSERT_EQ(r.runs.size(), 6u);
  for (int rep = 0; rep < 2; ++rep) {
    std::size_t tested = 0;
    for (int f = 0; f < 3; ++f) {
      const auto& run = r.runs[rep * 3 + f];
      EXPECT_EQ(run.train_rows + run.val_rows + run.test_rows, t.rows.size());
      tested += run.test_rows;
    }
    EXPECT_EQ(tested, t.rows.size());
  }
  // The same kind on the same folds with the same seeds: every paired difference is exactly 0.
  for (std::size_t k = 0; k < cv_figures().size(); ++k) {
    auto d = paired_stats(r, k);
    if (d.n) {
      EXPECT_EQ(d.mean, 0.0) << cv_figures()[k].name;
      EXPECT_EQ(d.std, 0.0) << cv_figures()[k].name;
    }
  }
  // Fold 2 of repeat 1, redone by hand: folds, validation split, training and evaluation.
  const std::uint64_t rep_seed = 5 + 1000003ULL;
  const auto folds = kfold_indices(t.rows.size(), 3, rep_seed);
  std::vector<std::size_t> rest;
  for (int g = 0; g < 2; ++g) rest.insert(rest.end(), folds[g].begin(), folds[g].end());
  std::sort(rest.begin(), rest.end());
  auto split = split_table(t.subset(rest), {0.9, 0.1}, rep_seed + 2);
  TrainRequest tr;
  tr.validation = router_aiq_scorer();
  tr.kind = "tfidf-ridge";
  tr.seed = rep_seed + 2;
  tr.costs = req.costs;
  auto p = train_predictor(tr, split.parts[0], split.parts[1]);
  const QualityTable test = t.subset(folds[2]);
  std::vector<std::string> prompts;
  Matrix truth(test.rows.size(), t.candidates.size());
  for (std::size_t i = 0; i < test.rows.size(); ++i) {
    prompts.push_back(test.rows[i].prompt);
    for (std::size_t k = 0; k < t.candidates.size(); ++k) truth(i, k) = test.rows[i].quality[k];
  }
  auto e = evaluate(truth, p->predict(prompts), req.costs, t.candidates);
  const auto& got = r.runs[5].figures[0];
  const double best = e.singles[e.best_single].quality;
  EXPECT_DOUBLE_EQ(got[cv_figure_index("quality_at_best_single_cost")], e.router.quality_at_best_single_cost);
  EXPECT_DOUBLE_EQ(got[cv_figure_index("gain_over_best_single")], e.router.quality_at_best_single_cost - best);
  EXPECT_DOUBLE_EQ(got[cv_figure_index("aiq")], e.router.aiq);
  EXPECT_DOUBLE_EQ(got[cv_figure_index("best_single_quality")], best);
  // The report names both arms and states whether the difference is beyond the fold noise.
  const std::string md = cv_markdown(r, "t");
  EXPECT_NE(md.find("again − tfidf-ridge (paired; folds higher)"), std::string::npos) << md;
  EXPECT_NE(md.find("no difference beyond the fold noise"), std::string::npos) << md;
  const json j = cv_json(r);
  EXPECT_EQ(j["runs"].size(), 6u);
  EXPECT_EQ(j["paired_difference"]["gain_over_best_single"]["mean"].get<double>(), 0.0);
}
