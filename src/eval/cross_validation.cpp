#include "catimage/eval/cross_validation.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <sstream>

#include <spdlog/fmt/fmt.h>

#include "catimage/eval/cascade_eval.hpp"
#include "catimage/eval/metrics.hpp"
#include "catimage/eval/validation_scorer.hpp"
#include "catimage/io/table_align.hpp"
#include "catimage/io/table_split.hpp"
#include "catimage/predictor/cascade_predictor.hpp"
#include "catimage/router/guard.hpp"
#include "catimage/router/routing_policy.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"
#include "catimage/util/strings.hpp"

namespace catimage {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double or_nan(const std::optional<double>& v) { return v ? *v : kNaN; }

// The figures of one router (`f` and `route`, of evaluation `e`), in cv_figures() order.
std::vector<double> figures_of(const EvalResult& e, const CurveFigures& f, const RouteFigures& route) {
  const double best = e.singles[e.best_single].quality, cost = e.singles[e.best_single].cost;
  auto gain = [&](const RoutedPoint& p) { return p.defined ? p.quality - best : kNaN; };
  return {f.quality_at_best_single_cost,
          f.quality_at_best_single_cost - best,
          or_nan(f.oracle_gap_captured),
          or_nan(f.cost_to_match_best_single),
          f.aiq,
          or_nan(f.apgr),
          best,
          e.oracle.quality_at_best_single_cost - best,
          gain(route.equal_cost),
          gain(route.equal_quality),
          route.equal_quality.defined && cost > 0 ? 1 - route.equal_quality.cost / cost : kNaN};
}

// "mean ± std"; `f` formats the mean (e.g. with a sign), the std is always unsigned.
std::string pm(const FoldStats& s, const char* f = "{:.4f}") {
  if (s.n == 0) return "—";
  return fmt::format(fmt::runtime(std::string(f) + " ± {:.4f}"), s.mean, s.std);
}

json stats_json(const FoldStats& s) {
  if (s.n == 0) return {{"mean", nullptr}, {"std", nullptr}, {"n", 0}, {"positive", 0}};
  return {{"mean", s.mean}, {"std", s.std}, {"n", s.n}, {"positive", s.positive}};
}

}  // namespace

const std::vector<CvFigure>& cv_figures() {
  static const std::vector<CvFigure> f = {
      {"quality_at_best_single_cost", "router quality at the best single's cost"},
      {"gain_over_best_single", "gain over the best single (same cost)"},
      {"oracle_gap_captured", "share of the oracle's gain captured"},
      {"cost_to_match_best_single", "cost to match the best single (fraction)"},
      {"aiq", "AIQ (area under the quality-cost hull)"},
      {"apgr", "APGR (gap recovered, weak to strong)"},
      {"best_single_quality", "best single candidate's quality"},
      {"oracle_gain_over_best_single", "oracle's gain over the best single"},
      {"route_gain", "route (--objective quality): gain over the best single"},
      {"savings_gain", "route --objective savings: gain over the best single"},
      {"savings_cost_saved", "route --objective savings: share of the best single's cost saved"},
  };
  return f;
}

std::size_t cv_figure_index(const std::string& name) {
  const auto& f = cv_figures();
  for (std::size_t i = 0; i < f.size(); ++i)
    if (name == f[i].name) return i;
  std::string all;
  for (const auto& x : f) all += (all.empty() ? "" : ", ") + std::string(x.name);
  fail("unknown cross-validation figure \"{}\" (figures: {})", name, all);
}

FoldStats fold_stats(const std::vector<double>& values) {
  FoldStats s;
  double sum = 0;
  for (double v : values)
    if (!std::isnan(v)) {
      sum += v;
      ++s.n;
      if (v > 0) ++s.positive;
    }
  if (s.n == 0) return s;
  s.mean = sum / s.n;
  if (s.n > 1) {
    double ss = 0;
    for (double v : values)
      if (!std::isnan(v)) ss += (v - s.mean) * (v - s.mean);
    s.std = std::sqrt(ss / (s.n - 1));
  }
  return s;
}

FoldStats arm_stats(const CvResult& r, std::size_t arm, std::size_t figure) {
  std::vector<double> v;
  for (const auto& f : r.runs) v.push_back(f.figures.at(arm).at(figure));
  return fold_stats(v);
}

FoldStats paired_stats(const CvResult& r, std::size_t figure, std::size_t arm) {
  if (arm == 0 || arm >= r.arms.size())
    fail("a paired comparison needs arm {} beside arm 0 (have {} arms)", arm, r.arms.size());
  std::vector<double> v;
  for (const auto& f : r.runs) v.push_back(f.figures.at(arm).at(figure) - f.figures.at(0).at(figure));  // NaN stays NaN
  return fold_stats(v);
}

CvResult cross_validate(const QualityTable& table, const CvRequest& req) {
  if (req.arms.empty() || req.arms.size() > 2) fail("cross-validation takes one or two arms (got {})", req.arms.size());
  if (req.repeats < 1) fail("--repeats must be at least 1 (got {})", req.repeats);
  if (!(req.val_fraction > 0 && req.val_fraction < 0.5))
    fail("the validation share must be in (0, 0.5) (got {})", req.val_fraction);
  if (req.costs.size() != table.candidates.size())
    fail("cross-validation: {} costs for {} candidates", req.costs.size(), table.candidates.size());
  CvResult r;
  r.table = table.source;
  r.folds = req.folds;
  r.repeats = req.repeats;
  r.seed = req.seed;
  r.rows = table.rows.size();
  r.test_max_words = req.test_max_words;
  // The judging metric's qualities in the table's row and candidate order.
  Matrix judge_all;
  const bool judged = !req.judge.rows.empty();
  if (judged) {
    r.judge = req.judge.source;
    judge_all = aligned_to(req.judge, table).quality_matrix();
  }
  for (const auto& a : req.arms) r.arms.push_back(a.label);
  int first = -1;
  if (!req.cascade.first.empty()) {
    for (std::size_t k = 0; k < table.candidates.size(); ++k)
      if (table.candidates[k] == req.cascade.first) first = static_cast<int>(k);
    if (first < 0) fail("{}: --cascade {}: not a candidate of the table", table.source, req.cascade.first);
    r.arms.push_back(cascade_router_name(req.cascade.first, false));
    r.arms.push_back(cascade_router_name(req.cascade.first, true));
  }
  const std::vector<std::string>& names = req.names.empty() ? table.candidates : req.names;

  for (int rep = 0; rep < req.repeats; ++rep) {
    // Repeats use well-separated seeds so that their fold assignments are independent draws.
    const std::uint64_t rep_seed = req.seed + 1000003ULL * static_cast<std::uint64_t>(rep);
    const auto folds = kfold_indices(table.rows.size(), req.folds, rep_seed);
    for (int f = 0; f < req.folds; ++f) {
      std::vector<std::size_t> rest;
      for (int g = 0; g < req.folds; ++g)
        if (g != f) rest.insert(rest.end(), folds[g].begin(), folds[g].end());
      std::sort(rest.begin(), rest.end());
      std::vector<std::size_t> test_rows;
      for (std::size_t i : folds[f])
        if (req.test_max_words <= 0 ||
            count_words(table.rows[i].prompt) <= static_cast<std::size_t>(req.test_max_words))
          test_rows.push_back(i);
      if (test_rows.empty())
        fail("{}: fold {} has no held-out prompt of at most {} words", table.source, f + 1, req.test_max_words);
      const QualityTable test = table.subset(test_rows);
      Matrix judge_truth;
      if (judged) {
        judge_truth = Matrix(test_rows.size(), table.candidates.size());
        for (std::size_t i = 0; i < test_rows.size(); ++i)
          for (std::size_t k = 0; k < table.candidates.size(); ++k) judge_truth(i, k) = judge_all(test_rows[i], k);
      }
      const auto split = split_table(table.subset(rest), {1.0 - req.val_fraction, req.val_fraction}, rep_seed + f);
      CvFold run;
      run.repeat = rep;
      run.fold = f;
      run.train_rows = split.parts[0].rows.size();
      run.val_rows = split.parts[1].rows.size();
      run.test_rows = test.rows.size();
      std::vector<std::string> prompts;
      for (const auto& row : test.rows) prompts.push_back(row.prompt);
      const Matrix truth = test.quality_matrix();
      for (const auto& arm : req.arms) {
        TrainRequest tr = arm.train;
        tr.seed = rep_seed + f;
        tr.costs = req.costs;
        if (!tr.validation) tr.validation = router_aiq_scorer();
        auto p = train_predictor(tr, split.parts[0], split.parts[1]);
        // Routed as route routes with this predictor: its training means choose the best single.
        RoutingRequest rq;
        rq.margin = req.margin;
        rq.reference_quality = p->meta().stats.prior;
        const EvalResult e = evaluate(judged ? judge_truth : truth, p->predict(prompts), req.costs, names, rq);
        run.figures.push_back(figures_of(e, e.router, e.route));
      }
      if (first >= 0) {
        CascadeTrainRequest cr;
        cr.first = req.cascade.first;
        cr.alpha = req.cascade.alpha;
        cr.seed = rep_seed + f;
        const auto cp = train_cascade_predictor(table.subset(rest), cr);
        std::vector<double> observed(truth.rows);
        for (std::size_t i = 0; i < truth.rows; ++i) observed[i] = truth(i, first);
        const Matrix diff = cp->predict_differences(prompts, observed);
        const Matrix& value = judged ? judge_truth : truth;
        EvalResult e = evaluate(value, value, req.costs, names);  // singles and oracle
        for (bool keep_best : {false, true}) {
          add_cascade_router(e, truth, diff, cp->meta().error_std, {first, req.cascade.score_cost, keep_best},
                             judged ? &judge_truth : nullptr);
          run.figures.push_back(figures_of(e, e.extra.back().figures, e.extra.back().route));
        }
      }
      spdlog::info("cv repeat {}/{} fold {}/{}: {} train, {} val, {} test rows; gain over best single {}", rep + 1,
                   req.repeats, f + 1, req.folds, run.train_rows, run.val_rows, run.test_rows, [&] {
                     std::string s;
                     for (std::size_t a = 0; a < run.figures.size(); ++a)
                       s += fmt::format("{}{} {:+.4f}", a ? ", " : "", r.arms[a], run.figures[a][1]);
                     return s;
                   }());
      r.runs.push_back(std::move(run));
    }
  }
  return r;
}

std::string cv_markdown(const CvResult& r, const std::string& title) {
  std::ostringstream o;
  const auto& figs = cv_figures();
  const std::size_t arms = r.arms.size();
  o << "## " << title << "\n\n";
  o << fmt::format("{} rows; {}-fold cross-validation{} (seed {}); mean ± std over {} folds{}\n\n", r.rows, r.folds,
                   r.repeats > 1 ? fmt::format(", repeated {} times", r.repeats) : std::string(), r.seed, r.runs.size(),
                   r.test_max_words > 0
                       ? fmt::format("; measured on the held-out prompts of at most {} words", r.test_max_words)
                       : std::string());
  if (!r.judge.empty())
    o << "Routed (and keep-best selecting) on " << r.table << "'s metric; every figure judged on " << r.judge
      << "'s.\n\n";
  o << "| figure |";
  for (const auto& a : r.arms) o << " " << a << " |";
  for (std::size_t a = 1; a < arms; ++a) o << " " << r.arms[a] << " − " << r.arms[0] << " (paired; folds higher) |";
  o << "\n|---|";
  for (std::size_t a = 0; a < 2 * arms - 1; ++a) o << "---:|";
  o << "\n";
  for (std::size_t k = 0; k < figs.size(); ++k) {
    o << "| " << figs[k].label << " |";
    for (std::size_t a = 0; a < arms; ++a) o << " " << pm(arm_stats(r, a, k)) << " |";
    for (std::size_t a = 1; a < arms; ++a) {
      auto d = paired_stats(r, k, a);
      o << " " << pm(d, "{:+.4f}") << fmt::format(" ({}/{})", d.positive, d.n) << " |";
    }
    o << "\n";
  }
  if (arms > 1) o << "\n";
  for (std::size_t a = 1; a < arms; ++a) {
    const auto d = paired_stats(r, cv_figure_index("gain_over_best_single"), a);
    o << (d.n > 1 && std::abs(d.mean) > d.std
              ? fmt::format("{} − {}: the paired difference in gain ({:+.4f}) exceeds one standard deviation of the "
                            "per-fold differences ({:.4f}): {} is {}.\n",
                            r.arms[a], r.arms[0], d.mean, d.std, r.arms[a], d.mean > 0 ? "better" : "worse")
              : fmt::format("{} − {}: the paired difference in gain ({:+.4f}) is within one standard deviation of "
                            "the per-fold differences ({:.4f}): no difference beyond the fold noise.\n",
                            r.arms[a], r.arms[0], d.mean, d.std));
  }
  return o.str();
}

json cv_json(const CvResult& r) {
  const auto& figs = cv_figures();
  json j = {{"table", r.table},     {"rows", r.rows}, {"folds", r.folds},
            {"repeats", r.repeats}, {"seed", r.seed}, {"arms", r.arms}};
  json summary = json::array();
  for (std::size_t a = 0; a < r.arms.size(); ++a) {
    json s = json::object();
    for (std::size_t k = 0; k < figs.size(); ++k) s[figs[k].name] = stats_json(arm_stats(r, a, k));
    summary.push_back({{"arm", r.arms[a]}, {"figures", s}});
  }
  j["summary"] = summary;
  json diffs = json::array();
  for (std::size_t a = 1; a < r.arms.size(); ++a) {
    json d = json::object();
    for (std::size_t k = 0; k < figs.size(); ++k) d[figs[k].name] = stats_json(paired_stats(r, k, a));
    if (a == 1) j["paired_difference"] = d;
    diffs.push_back({{"arm", r.arms[a]}, {"minus", r.arms[0]}, {"figures", d}});
  }
  j["paired_differences"] = diffs;
  j["test_max_words"] = r.test_max_words;
  j["judge"] = r.judge.empty() ? json(nullptr) : json(r.judge);
  json runs = json::array();
  for (const auto& f : r.runs) {
    json arms = json::array();
    for (const auto& v : f.figures) {
      json o = json::object();
      for (std::size_t k = 0; k < figs.size(); ++k) o[figs[k].name] = std::isnan(v[k]) ? json(nullptr) : json(v[k]);
      arms.push_back(o);
    }
    runs.push_back({{"repeat", f.repeat},
                    {"fold", f.fold},
                    {"train_rows", f.train_rows},
                    {"val_rows", f.val_rows},
                    {"test_rows", f.test_rows},
                    {"arms", arms}});
  }
  j["runs"] = runs;
  return j;
}

}  // namespace catimage
