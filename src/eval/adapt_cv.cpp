#include "catimage/eval/adapt_cv.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <random>
#include <sstream>

#include <spdlog/fmt/fmt.h>

#include "catimage/eval/learning_simulation.hpp"
#include "catimage/eval/transfer_gain.hpp"
#include "catimage/io/table_merge.hpp"
#include "catimage/predictor/cascade_predictor.hpp"
#include "catimage/predictor/feature_space.hpp"
#include "catimage/predictor/prompt_clusters.hpp"
#include "catimage/router/routing_policy.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"

namespace catimage {

namespace {

constexpr std::size_t kMinEvalRows = 20;

std::vector<std::string> prompts_of(const QualityTable& t) {
  std::vector<std::string> p;
  for (const auto& r : t.rows) p.push_back(r.prompt);
  return p;
}

// Row-weighted mean and the minimum over clusters of the figure `f` of cells with this k.
template <class F>
std::pair<double, double> pooled(const std::vector<AdaptCvCell>& cells, int k, F f) {
  double s = 0, worst = std::numeric_limits<double>::infinity();
  std::size_t n = 0;
  for (const auto& c : cells)
    if (c.k == k) {
      s += f(c) * c.eval_rows;
      n += c.eval_rows;
      worst = std::min(worst, f(c));
    }
  return {n ? s / n : std::nan(""), worst};
}

std::string weights_text(const std::vector<AdaptCvCell>& cells, int k, bool cascade) {
  std::vector<double> w;
  for (const auto& c : cells)
    if (c.k == k) w.push_back(cascade ? c.cascade_weight : c.prompt_weight);
  if (w.empty() || k == 0) return "—";
  std::sort(w.begin(), w.end());
  std::string s;
  for (std::size_t i = 0; i < w.size(); ++i) {
    std::size_t j = i;
    while (j + 1 < w.size() && w[j + 1] == w[i]) ++j;
    s += fmt::format("{}{:g}×{}", s.empty() ? "" : ", ", w[i], j - i + 1);
    i = j;
  }
  return s;
}

}  // namespace

AdaptCvResult adapt_cross_validate(const QualityTable& table, const AdaptCvRequest& req) {
  if (req.ks.empty()) fail("--adapt: no numbers of labelled prompts");
  for (int k : req.ks)
    if (k < 0) fail("--adapt: numbers of labelled prompts must be >= 0, got {}", k);
  if (req.costs.size() != table.candidates.size())
    fail("--adapt: {} costs for {} candidates", req.costs.size(), table.candidates.size());
  if (req.repeats < 1) fail("--repeats must be at least 1");
  if (req.segments < 1) fail("the learning curve needs at least one segment");
  check_weight_grid(req.weight_grid, req.default_weight);
  const int first = req.first.empty() ? -1 : table.index(req.first);
  if (!req.first.empty() && first < 0) fail("{}: --cascade {}: not a candidate of the table", table.source, req.first);
  AdaptCvResult r;
  r.table = table.source;
  r.first = req.first;
  r.ks = req.ks;
  std::sort(r.ks.begin(), r.ks.end());
  r.ks.erase(std::unique(r.ks.begin(), r.ks.end()), r.ks.end());
  r.repeats = req.repeats;
  r.clusters = req.clusters;
  r.learn = req.learn;
  r.weight_folds = req.weight_folds;
  r.default_weight = req.default_weight;
  const std::size_t max_k = static_cast<std::size_t>(r.ks.back());
  const std::vector<std::string> prompts = prompts_of(table);
  const std::vector<std::string>& names = table.candidates;

  for (int rep = 0; rep < req.repeats; ++rep) {
    const std::uint64_t seed = req.seed + 1000003ULL * static_cast<std::uint64_t>(rep);
    const PromptClusters pc = cluster_prompts(prompts, req.clusters, seed);
    for (int c = 0; c < req.clusters; ++c) {
      std::vector<std::size_t> in, out;
      for (std::size_t i = 0; i < table.rows.size(); ++i) (pc.label[i] == c ? in : out).push_back(i);
      if (in.size() < max_k + kMinEvalRows) {
        spdlog::warn("--adapt: held-out cluster {} has {} prompts, fewer than {} labelled + {}: left out", c + 1,
                     in.size(), max_k, kMinEvalRows);
        ++r.skipped;
        continue;
      }
      std::vector<std::size_t> perm = in;
      std::mt19937_64 rng(seed + 7919ULL * (c + 1));
      std::shuffle(perm.begin(), perm.end(), rng);
      std::vector<std::size_t> eval_idx(perm.begin() + max_k, perm.end());
      std::sort(eval_idx.begin(), eval_idx.end());
      const QualityTable base = table.subset(out), eval = table.subset(eval_idx);
      r.exemplars.push_back(table.rows[pc.exemplar[c]].prompt);
      r.cluster_rows.push_back(in.size());
      const int b = best_single(base.mean_quality(), req.costs);
      auto measure_prompt = [&](const QualityTable& train, const QualityTable& test) {
        return prompt_only_gains(train, test, req.alpha, req.costs, req.margin, seed + c);
      };
      auto measure_cascade = [&](const QualityTable& train, const QualityTable& test) {
        return cascade_gains(train, test, req.first, req.cascade_alpha, req.costs, req.score_cost);
      };
      TransferGains static_cascade;
      for (int k : r.ks) {
        AdaptCvCell cell;
        cell.repeat = rep;
        cell.cluster = c;
        cell.k = k;
        cell.eval_rows = eval.rows.size();
        QualityTable train_p = base, train_c = base;
        if (k > 0) {
          const QualityTable user = table.subset(std::vector<std::size_t>(perm.begin(), perm.begin() + k));
          // the weight's CV: many fits on the base and labelled prompts, one vocabulary
          std::vector<std::string> seen = prompts_of(base), labelled = prompts_of(user);
          seen.insert(seen.end(), labelled.begin(), labelled.end());
          const FeatureSpace space(seen);
          cell.prompt_weight =
              choose_user_weight(base, user, req.weight_grid, req.weight_folds, seed + c,
                                 [&](const QualityTable& tr, const QualityTable& te) {
                                   return prompt_only_gains(tr, te, req.alpha, req.costs, req.margin, seed + c, &space);
                                 },
                                 req.default_weight)
                  .chosen;
          train_p = merge_tables(base, user, cell.prompt_weight);
          if (first >= 0) {
            cell.cascade_weight = choose_user_weight(base, user, req.weight_grid, req.weight_folds, seed + c,
                                                     [&](const QualityTable& tr, const QualityTable& te) {
                                                       return cascade_gains(tr, te, req.first, req.cascade_alpha,
                                                                            req.costs, req.score_cost, &space);
                                                     },
                                                     req.default_weight)
                                      .chosen;
            train_c = merge_tables(base, user, cell.cascade_weight);
          }
        }
        cell.prompt_gain = measure_prompt(train_p, eval).mean();
        if (first >= 0) {
          TransferGains g = measure_cascade(train_c, eval);
          cell.cascade_gain = g.mean();
          if (k == 0) static_cascade = std::move(g);
        }
        spdlog::info("repeat {}/{}, cluster {}/{} ({} prompts), k = {}: prompt-only {:+.4f} (weight {:g}){}", rep + 1,
                     req.repeats, c + 1, req.clusters, in.size(), k, cell.prompt_gain, cell.prompt_weight,
                     first >= 0 ? fmt::format(", cascade {:+.4f} (weight {:g})", cell.cascade_gain, cell.cascade_weight)
                                : std::string());
        r.cells.push_back(cell);
      }
      if (first < 0 || !req.learning) continue;
      // ---- the learning cascade from the base alone, over the evaluation rows
      if (static_cascade.gain.empty()) {  // k = 0 was not asked for: the static cascade from the base
        static_cascade = measure_cascade(base, eval);
      }
      CascadeTrainRequest cr;
      cr.first = req.first;
      cr.alpha = req.cascade_alpha;
      cr.error_folds = 0;
      std::shared_ptr<const CascadePredictor> initial = train_cascade_predictor(base, cr);
      const std::vector<std::string> eval_prompts = prompts_of(eval);
      std::vector<double> observed;
      std::vector<std::string> ids;
      for (const auto& row : eval.rows) {
        observed.push_back(row.quality[first]);
        ids.push_back(row.id);
      }
      auto refitter =
          std::make_shared<const CascadeRefitter>(base, cr, eval_prompts, std::vector<double>(names.size(), 0.0));
      CascadeOptions co{first, req.score_cost, false};
      co.score_second = true;
      LearningBatch batch{ids, observed, req.costs, co, std::vector<double>(names.size(), 0.0)};
      RoutingRequest rq;
      rq.budget = req.costs[b];
      LearningOptions lo = req.learn;
      const CascadeLearner learner(batch, rq, lo, cascade_ridge_refit(initial, refitter, eval_prompts, observed, names),
                                   names);
      const LearningSimulation sim = simulate_learning(learner, eval, first, false);
      AdaptCvLearning L;
      L.repeat = rep;
      L.cluster = c;
      L.rows = eval.rows.size();
      L.budget = req.costs[b];
      std::vector<double> lg(L.rows);
      double cost = 0;
      for (std::size_t i = 0; i < L.rows; ++i) {
        lg[i] = sim.realised[i] - eval.rows[i].quality[b];
        cost += sim.cost[i];
        L.explored += sim.decisions[i].explored;
        L.escalated += sim.decisions[i].candidate != first;
      }
      L.explored /= L.rows;
      L.escalated /= L.rows;
      L.mean_cost = cost / L.rows;
      for (std::size_t i = 0; i < L.rows; ++i) {
        L.static_gain += static_cascade.gain[i] / L.rows;
        L.learning_gain += lg[i] / L.rows;
      }
      for (int s = 0; s < req.segments; ++s) {
        const std::size_t a = L.rows * s / req.segments, e = L.rows * (s + 1) / req.segments;
        double sg = 0, lgs = 0;
        for (std::size_t i = a; i < e; ++i) sg += static_cascade.gain[i], lgs += lg[i];
        L.segment_rows.push_back(e - a);
        L.static_segment.push_back(e > a ? sg / (e - a) : 0.0);
        L.learning_segment.push_back(e > a ? lgs / (e - a) : 0.0);
      }
      spdlog::info(
          "  learning cascade on cluster {}: {:+.4f} (static {:+.4f}); last fifth {:+.4f} (static {:+.4f}); "
          "mean cost {:.4g} of budget {:.4g}",
          c + 1, L.learning_gain, L.static_gain, L.learning_segment.back(), L.static_segment.back(), L.mean_cost,
          L.budget);
      r.learning.push_back(std::move(L));
    }
  }
  if (r.cells.empty()) fail("--adapt: no cluster has {} prompts to label and {} to evaluate on", max_k, kMinEvalRows);
  return r;
}

std::string adapt_cv_markdown(const AdaptCvResult& r, const std::string& title) {
  std::ostringstream o;
  const bool cascade = !r.first.empty();
  std::size_t held = 0;
  for (const auto& c : r.cells)
    if (c.k == r.ks.front()) ++held;
  o << "## " << title << "\n\n";
  o << fmt::format(
      "{} held-out clusters ({} clustering{}{}); per cluster, the other clusters are the base table and k of its own "
      "prompts are labelled (nested seeded samples); every k is measured on the same rest of the cluster; gain = "
      "routed quality − the training rows' best single candidate's, at its cost; the user rows' weight is chosen by "
      "{}-fold CV on the k labelled rows (weight {:g} unless another beats it by more than {:g} standard errors)\n\n",
      held, r.repeats, r.repeats > 1 ? "s, pooled" : "",
      r.skipped ? fmt::format("; {} cluster(s) too small for max k left out", r.skipped) : std::string(),
      r.weight_folds, r.default_weight, kUserWeightSe);
  o << "| labelled prompts (k) | prompt-only: mean | prompt-only: worst cluster | weights chosen";
  if (cascade) o << " | cascade: mean | cascade: worst cluster | weights chosen";
  o << " |\n|---:|---:|---:|---";
  if (cascade) o << "|---:|---:|---";
  o << "|\n";
  for (int k : r.ks) {
    const auto p = pooled(r.cells, k, [](const AdaptCvCell& c) { return c.prompt_gain; });
    o << fmt::format("| {} | {:+.4f} | {:+.4f} | {}", k, p.first, p.second, weights_text(r.cells, k, false));
    if (cascade) {
      const auto q = pooled(r.cells, k, [](const AdaptCvCell& c) { return c.cascade_gain; });
      o << fmt::format(" | {:+.4f} | {:+.4f} | {}", q.first, q.second, weights_text(r.cells, k, true));
    }
    o << " |\n";
  }
  if (!r.learning.empty()) {
    const std::size_t segs = r.learning.front().static_segment.size();
    double st = 0, le = 0, ex = 0, es = 0, worst_gap = std::numeric_limits<double>::infinity();
    std::size_t n = 0, above = 0, above_last = 0;
    std::vector<double> ss(segs, 0), ls(segs, 0);
    std::vector<std::size_t> sn(segs, 0);
    bool within = true;
    for (const auto& L : r.learning) {
      st += L.static_gain * L.rows;
      le += L.learning_gain * L.rows;
      ex += L.explored * L.rows;
      es += L.escalated * L.rows;
      n += L.rows;
      above += L.learning_gain > L.static_gain;
      above_last += L.learning_segment.back() > L.static_segment.back();
      worst_gap = std::min(worst_gap, L.learning_gain - L.static_gain);
      within = within && L.mean_cost <= L.budget * (1 + 1e-9);
      for (std::size_t s = 0; s < segs; ++s) {
        ss[s] += L.static_segment[s] * L.segment_rows[s];
        ls[s] += L.learning_segment[s] * L.segment_rows[s];
        sn[s] += L.segment_rows[s];
      }
    }
    o << fmt::format(
        "\nThe cascade that learns as it runs (`route --generate --cascade --learn`), simulated from the base alone "
        "(k = 0) on the same rows of each held-out cluster, against the static cascade: refit every {} prompts, "
        "exploration ε = {:g}, run rows weighted {:g} × 1/propensity{}; every run within its budget: {}\n\n",
        r.learn.every, r.learn.explore, r.learn.run_weight,
        r.learn.max_ipw < 1e300 ? fmt::format(" (capped at {:g})", r.learn.max_ipw) : std::string(),
        within ? "yes" : "NO");
    o << "| part of the run (prompts seen) | static cascade | learning cascade | difference |\n|---|---:|---:|---:|\n";
    for (std::size_t s = 0; s < segs; ++s)
      o << fmt::format("| {}/{} – {}/{} | {:+.4f} | {:+.4f} | {:+.4f} |\n", s, segs, s + 1, segs, ss[s] / sn[s],
                       ls[s] / sn[s], (ls[s] - ss[s]) / sn[s]);
    o << fmt::format("| whole run | {:+.4f} | {:+.4f} | {:+.4f} |\n", st / n, le / n, (le - st) / n);
    o << fmt::format(
        "\nclusters where learning is above static: {}/{} over the run, {}/{} in the last part; worst cluster's "
        "difference {:+.4f}; explored {:.1f}% and escalated {:.1f}% of prompts\n",
        above, r.learning.size(), above_last, r.learning.size(), worst_gap, 100 * ex / n, 100 * es / n);
  }
  o << "\n| clustering | cluster | prompts | e.g. |";
  for (int k : r.ks) o << " prompt-only k=" << k << " |";
  if (cascade)
    for (int k : r.ks) o << " cascade k=" << k << " |";
  if (!r.learning.empty()) o << " learning cascade |";
  o << "\n|---:|---:|---:|---|";
  for (std::size_t i = 0; i < r.ks.size() * (cascade ? 2 : 1) + !r.learning.empty(); ++i) o << "---:|";
  o << "\n";
  std::size_t row = 0, li = 0;
  for (std::size_t e = 0; e < r.exemplars.size(); ++e) {
    const AdaptCvCell& c0 = r.cells[row];
    std::string ex = r.exemplars[e].substr(0, 60);
    for (char& ch : ex)
      if (ch == '|' || ch == '\n') ch = ' ';
    o << fmt::format("| {} | {} | {} | {} |", c0.repeat + 1, c0.cluster + 1, r.cluster_rows[e], ex);
    for (std::size_t j = 0; j < r.ks.size(); ++j) o << fmt::format(" {:+.4f} |", r.cells[row + j].prompt_gain);
    if (cascade)
      for (std::size_t j = 0; j < r.ks.size(); ++j) o << fmt::format(" {:+.4f} |", r.cells[row + j].cascade_gain);
    if (!r.learning.empty()) o << fmt::format(" {:+.4f} |", r.learning[li++].learning_gain);
    o << "\n";
    row += r.ks.size();
  }
  return o.str();
}

json adapt_cv_json(const AdaptCvResult& r) {
  json cells = json::array(), learning = json::array();
  for (const auto& c : r.cells)
    cells.push_back({{"repeat", c.repeat},
                     {"cluster", c.cluster},
                     {"k", c.k},
                     {"eval_rows", c.eval_rows},
                     {"prompt_only_gain", c.prompt_gain},
                     {"prompt_only_weight", c.prompt_weight},
                     {"cascade_gain", r.first.empty() ? json(nullptr) : json(c.cascade_gain)},
                     {"cascade_weight", r.first.empty() ? json(nullptr) : json(c.cascade_weight)}});
  for (const auto& L : r.learning)
    learning.push_back({{"repeat", L.repeat},
                        {"cluster", L.cluster},
                        {"rows", L.rows},
                        {"static_gain", L.static_gain},
                        {"learning_gain", L.learning_gain},
                        {"static_segments", L.static_segment},
                        {"learning_segments", L.learning_segment},
                        {"segment_rows", L.segment_rows},
                        {"explored", L.explored},
                        {"escalated", L.escalated},
                        {"mean_cost", L.mean_cost},
                        {"budget", L.budget}});
  json summary = json::array();
  for (int k : r.ks) {
    const auto p = pooled(r.cells, k, [](const AdaptCvCell& c) { return c.prompt_gain; });
    json s = {{"k", k}, {"prompt_only_mean", p.first}, {"prompt_only_worst", p.second}};
    if (!r.first.empty()) {
      const auto q = pooled(r.cells, k, [](const AdaptCvCell& c) { return c.cascade_gain; });
      s["cascade_mean"] = q.first;
      s["cascade_worst"] = q.second;
    }
    summary.push_back(s);
  }
  return {{"table", r.table},
          {"first", r.first},
          {"ks", r.ks},
          {"repeats", r.repeats},
          {"clusters", r.clusters},
          {"skipped_clusters", r.skipped},
          {"default_weight", r.default_weight},
          {"learning_options",
           {{"every", r.learn.every},
            {"explore", r.learn.explore},
            {"seed", r.learn.seed},
            {"run_weight", r.learn.run_weight},
            {"max_ipw", r.learn.max_ipw < 1e300 ? json(r.learn.max_ipw) : json(nullptr)}}},
          {"summary", summary},
          {"cells", cells},
          {"learning", learning}};
}

}  // namespace catimage
