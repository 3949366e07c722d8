#include "catimage/eval/multi_metric_cv.hpp"

#include <spdlog/fmt/fmt.h>

#include <cmath>
#include <limits>
#include <sstream>

#include "catimage/eval/cross_validation.hpp"
#include "catimage/eval/validation_scorer.hpp"
#include "catimage/io/table_align.hpp"
#include "catimage/io/table_split.hpp"
#include "catimage/predictor/cascade_predictor.hpp"
#include "catimage/predictor/feature_space.hpp"
#include "catimage/predictor/prompt_clusters.hpp"
#include "catimage/predictor/trainer.hpp"
#include "catimage/router/cascade.hpp"
#include "catimage/router/metric_routing.hpp"
#include "catimage/router/routing_policy.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"
#include "catimage/util/strings.hpp"

namespace catimage {

std::string MetricCvArm::label() const {
  std::string s = objective;
  if (!floors.empty()) s += ", floor " + join(floors, ", ");
  return s;
}

std::vector<MetricCvArm> default_metric_arms(const std::vector<std::string>& metrics) {
  std::vector<MetricCvArm> arms;
  for (const auto& m : metrics) arms.push_back({m, {}});
  if (metrics.size() > 1) {
    arms.push_back({equal_weights_objective(metrics), {}});
    arms.push_back({"mixed", {}});
    std::vector<std::string> others(metrics.begin() + 1, metrics.end());
    arms.push_back({metrics[0], others});
  }
  return arms;
}

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Split {
  std::string label;
  std::vector<std::size_t> train, test;
};

std::vector<Split> make_splits(const MetricCvRequest& req, const QualityTable& t) {
  std::vector<Split> out;
  const std::size_t n = t.rows.size();
  std::vector<std::vector<std::size_t>> groups;
  std::vector<std::string> labels;
  if (req.clusters > 0) {
    std::vector<std::string> prompts;
    for (const auto& r : t.rows) prompts.push_back(r.prompt);
    const PromptClusters pc = cluster_prompts(prompts, req.clusters, req.seed);
    groups.assign(pc.size.size(), {});
    for (std::size_t i = 0; i < n; ++i) groups[pc.label[i]].push_back(i);
    for (std::size_t c = 0; c < groups.size(); ++c) labels.push_back(fmt::format("cluster {}", c + 1));
  } else {
    if (req.folds < 2) fail("--folds must be >= 2, got {}", req.folds);
    groups = kfold_indices(n, req.folds, req.seed);
    for (std::size_t f = 0; f < groups.size(); ++f) labels.push_back(fmt::format("fold {}", f + 1));
  }
  for (std::size_t g = 0; g < groups.size(); ++g) {
    if (groups[g].size() < 2 || groups[g].size() == n) continue;  // too small to measure, or nothing to train on
    Split s;
    s.label = labels[g];
    s.test = groups[g];
    std::vector<char> in_test(n, 0);
    for (std::size_t i : s.test) in_test[i] = 1;
    for (std::size_t i = 0; i < n; ++i)
      if (!in_test[i]) s.train.push_back(i);
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<std::string> prompts_of(const QualityTable& t) {
  std::vector<std::string> p;
  for (const auto& r : t.rows) p.push_back(r.prompt);
  return p;
}

double column_mean(const Matrix& q, std::size_t c) {
  double s = 0;
  for (std::size_t i = 0; i < q.rows; ++i) s += q(i, c);
  return q.rows ? s / q.rows : 0.0;
}

}  // namespace

MetricCvResult metric_cross_validate(const MetricCvRequest& req) {
  const std::size_t nm = req.tables.size();
  if (nm == 0 || req.metrics.size() != nm) fail("cv: {} metric names for {} tables", req.metrics.size(), nm);
  const QualityTable& lead = req.tables[0];
  const std::size_t m = lead.candidates.size();
  if (req.costs.size() != m) fail("cv: {} costs for the {} candidates of {}", req.costs.size(), m, lead.source);
  std::vector<QualityTable> tables{lead};
  for (std::size_t k = 1; k < nm; ++k) tables.push_back(aligned_to(req.tables[k], lead));
  const std::vector<MetricCvArm> arms = req.arms.empty() ? default_metric_arms(req.metrics) : req.arms;
  std::vector<MetricRoutingRequest> requests;
  for (const auto& a : arms) {
    MetricRoutingRequest r;
    r.objective = parse_metric_objective(a.objective, req.metrics);
    r.floors = parse_metric_floors(a.floors, req.metrics);
    requests.push_back(std::move(r));
  }
  int first = -1;
  if (!req.first.empty()) {
    first = lead.index(req.first);
    if (first < 0) fail("{}: --cascade {}: not a candidate of the table", lead.source, req.first);
  }

  MetricCvResult res;
  res.metrics = req.metrics;
  res.routers.push_back("prompt-only");
  if (first >= 0) res.routers.push_back("cascade from " + req.first);
  for (const auto& a : arms) res.arms.push_back(a.label());
  res.reference_first = 0;
  res.reference_cems = arms.size();
  for (std::size_t a = 0; a < arms.size(); ++a)
    if (arms[a].objective == "mixed" && arms[a].floors.empty()) res.reference_cems = a;
  if (res.reference_cems == arms.size()) res.reference_cems = 0;
  res.gain.assign(res.routers.size(), std::vector<std::vector<std::vector<double>>>(arms.size()));
  res.cost.assign(res.routers.size(), std::vector<std::vector<double>>(arms.size()));

  const FeatureSpace space(prompts_of(lead));
  const std::vector<Split> splits = make_splits(req, lead);
  if (splits.empty()) fail("cv: no fold to hold out in {} ({} rows)", lead.source, lead.rows.size());
  for (std::size_t s = 0; s < splits.size(); ++s) {
    const Split& sp = splits[s];
    res.folds.push_back(sp.label);
    std::vector<QualityTable> train, test;
    for (const auto& t : tables) {
      train.push_back(t.subset(sp.train));
      test.push_back(t.subset(sp.test));
    }
    const std::size_t n = sp.test.size();
    MetricRoutingInput base;
    base.metrics = req.metrics;
    base.costs = req.costs;
    std::vector<Matrix> truth;
    for (std::size_t k = 0; k < nm; ++k) {
      base.scales.push_back(metric_scale(train[k].quality_matrix()));
      base.reference.push_back(train[k].mean_quality());
      truth.push_back(test[k].quality_matrix());
    }
    // The budget: the training rows' best single candidate by the first metric; each metric's
    // gain against its own best single among the candidates that budget affords.
    const int lead_single = best_single(base.reference[0], req.costs);
    const double budget = req.costs[lead_single];
    std::vector<int> single(nm);
    for (std::size_t k = 0; k < nm; ++k) {
      std::vector<char> affordable(m);
      for (std::size_t c = 0; c < m; ++c) affordable[c] = req.costs[c] <= budget * (1 + 1e-12);
      single[k] = best_single(base.reference[k], req.costs, affordable);
      if (s == 0) res.best_single.push_back(lead.candidates[single[k]]);
    }
    const std::vector<std::string> test_prompts = prompts_of(test[0]);
    for (std::size_t router = 0; router < res.routers.size(); ++router) {
      MetricRoutingInput in = base;
      const bool cascade = router == 1;
      CascadeOptions co{first, req.score_cost, false};
      for (std::size_t k = 0; k < nm; ++k) {
        if (!cascade) {
          TrainRequest tr;
          tr.kind = "tfidf-ridge";
          tr.hyper = {{"alpha", req.alpha}};
          tr.seed = req.seed;
          tr.costs = req.costs;
          tr.metric = req.metrics[k];
          tr.validation = router_aiq_scorer();
          in.predicted.push_back(space.train_prompt_only(train[k], tr)->predict(test_prompts));
        } else {
          CascadeTrainRequest cr;
          cr.first = req.first;
          cr.alpha = req.alpha;
          cr.metric = req.metrics[k];
          cr.error_folds = 0;
          const auto cp = space.train_cascade(train[k], cr);
          std::vector<double> observed(n);
          for (std::size_t i = 0; i < n; ++i) observed[i] = truth[k](i, first);
          in.predicted.push_back(cascade_predicted(observed, cp->predict_differences(test_prompts, observed), {}, co));
        }
      }
      if (cascade) in.option_costs = cascade_costs(req.costs, co);
      for (std::size_t a = 0; a < arms.size(); ++a) {
        MetricRoutingRequest rq = requests[a];
        rq.budget = budget;
        std::vector<double> g(nm, kNaN);
        double cost = kNaN;
        try {
          const MetricRouting mr = route_metrics(in, rq);
          for (std::size_t k = 0; k < nm; ++k) {
            double sum = 0;
            for (std::size_t i = 0; i < n; ++i) sum += truth[k](i, mr.routing.choice[i]);
            g[k] = sum / n - column_mean(truth[k], single[k]);
          }
          cost = mr.routing.mean_cost;
        } catch (const Error& e) {
          spdlog::warn("{}, {}, {}: {}", sp.label, res.routers[router], res.arms[a], e.what());
        }
        res.gain[router][a].push_back(g);
        res.cost[router][a].push_back(cost);
      }
      std::string line = fmt::format("{} ({} prompts), {}:", sp.label, n, res.routers[router]);
      for (std::size_t a = 0; a < arms.size(); ++a) {
        line += fmt::format(" [{}]", res.arms[a]);
        for (std::size_t k = 0; k < nm; ++k)
          line += fmt::format(" {} {:+.4f}", req.metrics[k], res.gain[router][a].back()[k]);
      }
      spdlog::info("{}", line);
    }
  }
  return res;
}

namespace {

std::vector<double> series(const MetricCvResult& r, std::size_t router, std::size_t arm, std::size_t metric) {
  std::vector<double> v;
  for (const auto& g : r.gain[router][arm]) v.push_back(g[metric]);
  return v;
}

std::vector<double> paired(const MetricCvResult& r, std::size_t router, std::size_t arm, std::size_t ref_router,
                           std::size_t ref_arm, std::size_t metric) {
  std::vector<double> a = series(r, router, arm, metric), b = series(r, ref_router, ref_arm, metric), d;
  for (std::size_t f = 0; f < a.size(); ++f) d.push_back(a[f] - b[f]);
  return d;
}

std::string cell(const FoldStats& s, bool sign_count = true) {
  if (s.n == 0) return "—";
  std::string out = fmt::format("{:+.3f} ± {:.3f}", s.mean, s.std);
  if (sign_count) out += fmt::format(" ({}/{})", s.positive, s.n);
  return out;
}

}  // namespace

std::string metric_cv_markdown(const MetricCvResult& r, const std::string& title) {
  std::ostringstream o;
  const std::size_t nm = r.metrics.size();
  o << "### " << title << "\n\n";
  o << "Gain on each metric over its best single candidate among those the budget affords (";
  for (std::size_t k = 0; k < nm; ++k) o << (k ? ", " : "") << r.metrics[k] << ": " << r.best_single[k];
  o << "), at the cost of the best single by " << r.metrics[0] << "; mean ± standard deviation over " << r.folds.size()
    << " held-out " << (r.folds.empty() || r.folds[0].rfind("cluster", 0) != 0 ? "folds" : "clusters")
    << " (in brackets: those > 0). Δ: paired per-fold differences against " << r.metrics[0]
    << " alone (same router) and against CEMS' mixed score routed prompt-only.\n\n";
  o << "| router | objective |";
  for (const auto& m : r.metrics) o << " " << m << " gain |";
  for (const auto& m : r.metrics) o << " Δ" << m << " vs " << r.metrics[0] << " only |";
  for (const auto& m : r.metrics) o << " Δ" << m << " vs CEMS mixed |";
  o << " mean cost |\n|---|---|";
  for (std::size_t c = 0; c < 3 * nm + 1; ++c) o << "---:|";
  o << "\n";
  for (std::size_t router = 0; router < r.routers.size(); ++router)
    for (std::size_t a = 0; a < r.arms.size(); ++a) {
      o << "| " << r.routers[router] << " | " << r.arms[a] << " |";
      for (std::size_t k = 0; k < nm; ++k) o << " " << cell(fold_stats(series(r, router, a, k))) << " |";
      for (std::size_t k = 0; k < nm; ++k)
        o << " "
          << (a == r.reference_first ? "—" : cell(fold_stats(paired(r, router, a, router, r.reference_first, k))))
          << " |";
      for (std::size_t k = 0; k < nm; ++k)
        o << " "
          << (router == 0 && a == r.reference_cems ? "—"
                                                   : cell(fold_stats(paired(r, router, a, 0, r.reference_cems, k))))
          << " |";
      o << " " << fmt::format("{:.4g}", fold_stats(r.cost[router][a]).mean) << " |\n";
    }
  return o.str();
}

json metric_cv_json(const MetricCvResult& r) {
  json j;
  j["metrics"] = r.metrics;
  j["routers"] = r.routers;
  j["arms"] = r.arms;
  j["folds"] = r.folds;
  j["best_single"] = r.best_single;
  json rows = json::array();
  for (std::size_t router = 0; router < r.routers.size(); ++router)
    for (std::size_t a = 0; a < r.arms.size(); ++a) {
      json row{{"router", r.routers[router]}, {"objective", r.arms[a]}};
      json gains = json::object();
      for (std::size_t k = 0; k < r.metrics.size(); ++k) {
        json per_fold = json::array();
        for (const auto& g : r.gain[router][a]) per_fold.push_back(std::isnan(g[k]) ? json() : json(g[k]));
        gains[r.metrics[k]] = per_fold;
      }
      row["gain"] = gains;
      json cost = json::array();
      for (double c : r.cost[router][a]) cost.push_back(std::isnan(c) ? json() : json(c));
      row["cost"] = cost;
      rows.push_back(row);
    }
  j["rows"] = rows;
  return j;
}

}  // namespace catimage
