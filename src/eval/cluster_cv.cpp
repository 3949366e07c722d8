#include "catimage/eval/cluster_cv.hpp"

#include <cmath>
#include <limits>
#include <sstream>

#include <spdlog/fmt/fmt.h>

#include "catimage/eval/cascade_eval.hpp"
#include "catimage/io/table_split.hpp"
#include "catimage/predictor/cascade_predictor.hpp"
#include "catimage/predictor/prompt_clusters.hpp"
#include "catimage/router/cascade.hpp"
#include "catimage/router/guard.hpp"
#include "catimage/router/router.hpp"
#include "catimage/router/routing_policy.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"
#include "catimage/eval/validation_scorer.hpp"

namespace catimage {

double guard_mean_gain(const GuardCvResult& r, std::size_t m) {
  double sum = 0;
  std::size_t n = 0;
  for (const auto& c : r.clusters) {
    sum += c.gain.at(m) * c.rows;
    n += c.rows;
  }
  return n ? sum / n : 0.0;
}

double guard_share_at_or_above(const GuardCvResult& r, std::size_t m, double tolerance) {
  std::size_t ok = 0;
  for (const auto& c : r.clusters) ok += c.gain.at(m) >= -tolerance * c.gain_se.at(m) - 1e-12;
  return r.clusters.empty() ? 0.0 : static_cast<double>(ok) / r.clusters.size();
}

GuardSavings guard_savings(const GuardCvResult& r, std::size_t m) {
  GuardSavings s;
  double g = 0, saved = 0;
  std::size_t n = 0, ok = 0;
  s.worst = std::numeric_limits<double>::infinity();
  for (const auto& c : r.clusters) {
    g += c.savings_gain.at(m) * c.rows;
    saved += c.savings_saved.at(m) * c.rows;
    n += c.rows;
    ok += c.savings_gain.at(m) >= -1e-12;
    s.worst = std::min(s.worst, c.savings_gain.at(m));
  }
  if (n) {
    s.gain = g / n;
    s.saved = saved / n;
    s.share_at_or_above = static_cast<double>(ok) / r.clusters.size();
  }
  return s;
}

GuardCvResult guard_cross_validate(const QualityTable& table, const GuardCvRequest& req) {
  if (req.margins.empty()) fail("guard cross-validation: no margins to try");
  for (std::size_t i = 0; i < req.margins.size(); ++i)
    if (!(req.margins[i] >= 0) || (i && req.margins[i] <= req.margins[i - 1]))
      fail("--margins must be ascending numbers >= 0");
  if (req.costs.size() != table.candidates.size())
    fail("guard cross-validation: {} costs for {} candidates", req.costs.size(), table.candidates.size());
  GuardCvResult r;
  r.table = table.source;
  r.arm = req.arm.label;
  r.margins = req.margins;
  r.min_share = req.min_share;
  r.se_tolerance = req.se_tolerance;
  if (!(req.se_tolerance >= 0)) fail("the standard-error tolerance must be >= 0");
  if (req.repeats < 1) fail("--repeats must be at least 1");
  r.repeats = req.repeats;
  std::vector<std::string> prompts;
  for (const auto& row : table.rows) prompts.push_back(row.prompt);
  const std::size_t m = table.candidates.size();
  int first = -1;
  if (!req.cascade.first.empty()) {
    for (std::size_t k = 0; k < m; ++k)
      if (table.candidates[k] == req.cascade.first) first = static_cast<int>(k);
    if (first < 0) fail("{}: --cascade {}: not a candidate of the table", table.source, req.cascade.first);
    r.cascades = {cascade_router_name(req.cascade.first, false), cascade_router_name(req.cascade.first, true)};
  }
  for (int rep = 0; rep < req.repeats; ++rep) {
    const std::uint64_t seed = req.seed + 1000003ULL * static_cast<std::uint64_t>(rep);
    const PromptClusters pc = cluster_prompts(prompts, req.clusters, seed);
    for (int c = 0; c < req.clusters; ++c) {
      if (pc.size[c] == 0) continue;
      std::vector<std::size_t> in, out;
      for (std::size_t i = 0; i < table.rows.size(); ++i) (pc.label[i] == c ? in : out).push_back(i);
      const QualityTable held = table.subset(in), rest = table.subset(out);
      // the best single of the training rows
      const Matrix rest_truth = rest.quality_matrix();
      const int b = best_single(column_means(rest_truth), req.costs);
      const auto split = split_table(rest, {1.0 - req.val_fraction, req.val_fraction}, seed + c);
      TrainRequest tr = req.arm.train;
      tr.seed = seed + c;
      tr.costs = req.costs;
      if (!tr.validation) tr.validation = router_aiq_scorer();
      auto p = train_predictor(tr, split.parts[0], split.parts[1]);
      std::vector<std::string> hp;
      for (const auto& row : held.rows) hp.push_back(row.prompt);
      const Matrix pred = p->predict(hp);
      GuardCvCluster gc;
      gc.repeat = rep;
      gc.rows = held.rows.size();
      gc.exemplar = table.rows[pc.exemplar[c]].prompt;
      gc.best_single = table.candidates[b];
      for (const auto& row : held.rows) gc.best_single_quality += row.quality[b] / held.rows.size();
      const RoutingPolicy policy(table.candidates, req.costs);
      const double bq = gc.best_single_quality, bc = req.costs[b];
      for (double tau : req.margins) {
        // As route runs it: the kept candidate is the best single of the training rows (the
        // predictor's training means), the default budget its cost.
        RoutingRequest rq;
        rq.margin = tau;
        rq.reference_quality = p->meta().stats.prior;  // the trained predictor's own training means
        const RoutingOutcome routed = policy.route(pred, rq);
        const Routing& rt = routed.routing;
        double sum = 0, sq = 0;
        std::size_t away = 0;
        const std::size_t nh = held.rows.size();
        for (std::size_t i = 0; i < nh; ++i) {
          const double d = held.rows[i].quality[rt.choice[i]] - held.rows[i].quality[b];
          sum += d;
          sq += d * d;
          away += rt.choice[i] != b;
        }
        const double mean = sum / nh;
        gc.gain.push_back(mean);
        gc.gain_se.push_back(nh > 1 ? std::sqrt(std::max(0.0, (sq - nh * mean * mean) / (nh - 1)) / nh) : 0.0);
        gc.departed.push_back(static_cast<double>(away) / held.rows.size());
        double q = 0, c = 0;
        for (std::size_t i = 0; i < nh; ++i) {
          q += held.rows[i].quality[routed.equal_quality.choice[i]];
          c += req.costs[routed.equal_quality.choice[i]];
        }
        gc.savings_gain.push_back(q / nh - bq);
        gc.savings_saved.push_back(bc > 0 ? 1 - c / nh / bc : 0.0);
      }
      if (first >= 0) {
        CascadeTrainRequest cr;
        cr.first = req.cascade.first;
        cr.alpha = req.cascade.alpha;
        cr.seed = seed + c;
        const auto cp = train_cascade_predictor(rest, cr);
        const Matrix truth = held.quality_matrix();
        std::vector<double> observed(held.rows.size());
        for (std::size_t i = 0; i < held.rows.size(); ++i) observed[i] = truth(i, first);
        const Matrix diff = cp->predict_differences(hp, observed);
        for (bool keep_best : {false, true}) {
          const CascadeOptions co{first, req.cascade.score_cost, keep_best};
          const auto option_costs = cascade_costs(req.costs, co);
          if (option_costs[first] > req.costs[b]) {
            gc.cascade_gain.push_back(std::numeric_limits<double>::quiet_NaN());
            continue;
          }
          Router router(option_costs);
          router.set_predictions(cascade_predicted(observed, diff, cp->meta().error_std, co));
          const Routing rt = router.route_budget(req.costs[b]);
          const Matrix realised = cascade_realised(truth, co);
          double q = 0;
          for (std::size_t i = 0; i < held.rows.size(); ++i) q += realised(i, rt.choice[i]);
          gc.cascade_gain.push_back(q / held.rows.size() - gc.best_single_quality);
        }
      }
      spdlog::info("repeat {}/{}, held-out cluster {}/{} ({} prompts, e.g. \"{}\"): gain {:+.4f} at margin 0", rep + 1,
                   req.repeats, c + 1, req.clusters, gc.rows, gc.exemplar.substr(0, 60), gc.gain[0]);
      r.clusters.push_back(std::move(gc));
    }
  }
  for (std::size_t k = 0; k < r.margins.size(); ++k)
    if (guard_mean_gain(r, k) >= 0 && guard_share_at_or_above(r, k, req.se_tolerance) >= req.min_share) {
      r.chosen = k;
      r.met = true;
      break;
    }
  if (!r.met) r.chosen = r.margins.size() - 1;
  return r;
}

std::string guard_cv_markdown(const GuardCvResult& r, const std::string& title) {
  std::ostringstream o;
  o << "## " << title << "\n\n";
  o << fmt::format(
      "{}; {} held-out clusters ({} clustering{}, pooled); each margin routed at the cost of the training rows' best "
      "single candidate; gains are means over all held-out prompts\n\n",
      r.arm, r.clusters.size(), r.repeats, r.repeats > 1 ? "s" : "");
  o << "| margin τ | gain over the best single (all held-out prompts) | clusters at or above it (gain ≥ 0) | "
       "clusters not below it by more than 1 s.e. | worst cluster | prompts departing | savings: gain | savings: "
       "clusters ≥ 0 | savings: worst cluster | savings: cost saved "
       "|\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (std::size_t k = 0; k < r.margins.size(); ++k) {
    double worst = std::numeric_limits<double>::infinity(), dep = 0;
    std::size_t n = 0;
    for (const auto& c : r.clusters) {
      worst = std::min(worst, c.gain[k]);
      dep += c.departed[k] * c.rows;
      n += c.rows;
    }
    const GuardSavings sv = guard_savings(r, k);
    o << fmt::format(
        "| {:.4g}{} | {:+.4f} | {:.0f}% | {:.0f}% | {:+.4f} | {:.1f}% | {:+.4f} | {:.0f}% | {:+.4f} | "
        "{:.1f}% |\n",
        r.margins[k], k == r.chosen && r.met ? " (chosen)" : "", guard_mean_gain(r, k),
        100 * guard_share_at_or_above(r, k, 0.0), 100 * guard_share_at_or_above(r, k, 1.0), worst,
        n ? 100 * dep / n : 0.0, sv.gain, 100 * sv.share_at_or_above, sv.worst, 100 * sv.saved);
  }
  if (!r.cascades.empty()) {
    o << "\nThe cascades on the same held-out clusters (no margin), at the same cost:\n\n| router | gain over the "
         "best single | clusters at or above it (gain ≥ 0) | worst cluster |\n|---|---:|---:|---:|\n";
    for (std::size_t a = 0; a < r.cascades.size(); ++a) {
      double sum = 0, worst = std::numeric_limits<double>::infinity();
      std::size_t n = 0, ok = 0, defined = 0;
      for (const auto& c : r.clusters) {
        const double g = c.cascade_gain.at(a);
        if (std::isnan(g)) continue;
        sum += g * c.rows;
        n += c.rows;
        ++defined;
        ok += g >= -1e-12;
        worst = std::min(worst, g);
      }
      o << fmt::format("| {} | {:+.4f} | {:.0f}% | {:+.4f} |\n", r.cascades[a], n ? sum / n : 0.0,
                       defined ? 100.0 * ok / defined : 0.0, worst);
    }
  }
  o << "\n| clustering | cluster | prompts | e.g. | best single | gain at τ = " << r.margins[0]
    << " | gain at τ = " << r.margins[r.chosen] << " |\n|---:|---:|---:|---|---|---:|---:|\n";
  for (std::size_t c = 0, in_repeat = 0; c < r.clusters.size(); ++c, ++in_repeat) {
    const auto& g = r.clusters[c];
    if (c && g.repeat != r.clusters[c - 1].repeat) in_repeat = 0;
    std::string ex = g.exemplar.substr(0, 70);
    for (char& ch : ex)
      if (ch == '|' || ch == '\n') ch = ' ';
    o << fmt::format("| {} | {} | {} | {} | {} | {:+.4f} | {:+.4f} |\n", g.repeat + 1, in_repeat + 1, g.rows, ex,
                     g.best_single, g.gain[0], g.gain[r.chosen]);
  }
  o << "\n"
    << (r.met
            ? fmt::format("Chosen margin: τ = {:.4g}, the smallest with a mean gain >= 0 and at least {:.0f}% of "
                          "held-out clusters {}.\n",
                          r.margins[r.chosen], 100 * r.min_share,
                          r.se_tolerance > 0
                              ? fmt::format("not below the best single by more than {} standard error(s) of their gain",
                                            r.se_tolerance)
                              : std::string("at or above the best single"))
            : fmt::format("No margin tried meets the rule (mean gain >= 0, {:.0f}% of clusters at or above): try "
                          "larger margins.\n",
                          100 * r.min_share));
  return o.str();
}

json guard_cv_json(const GuardCvResult& r) {
  json clusters = json::array();
  for (const auto& c : r.clusters)
    clusters.push_back({{"repeat", c.repeat},
                        {"rows", c.rows},
                        {"exemplar", c.exemplar},
                        {"best_single", c.best_single},
                        {"best_single_quality", c.best_single_quality},
                        {"gain", c.gain},
                        {"departed", c.departed},
                        {"gain_se", c.gain_se},
                        {"savings_gain", c.savings_gain},
                        {"savings_saved", c.savings_saved},
                        {"cascade_gain", c.cascade_gain}});
  json per = json::array();
  for (std::size_t k = 0; k < r.margins.size(); ++k)
    per.push_back({{"margin", r.margins[k]},
                   {"savings",
                    [&] {
                      const GuardSavings sv = guard_savings(r, k);
                      return json{{"mean_gain", sv.gain},
                                  {"cost_saved", sv.saved},
                                  {"share_at_or_above", sv.share_at_or_above},
                                  {"worst_cluster", sv.worst}};
                    }()},
                   {"mean_gain", guard_mean_gain(r, k)},
                   {"share_at_or_above", guard_share_at_or_above(r, k, 0.0)},
                   {"share_not_below_within_1_se", guard_share_at_or_above(r, k, 1.0)}});
  return {{"table", r.table},         {"arm", r.arm},
          {"margins", per},           {"chosen_margin", r.met ? json(r.margins[r.chosen]) : json(nullptr)},
          {"min_share", r.min_share}, {"se_tolerance", r.se_tolerance},
          {"repeats", r.repeats},     {"cascades", r.cascades},
          {"clusters", clusters}};
}

}  // namespace catimage
