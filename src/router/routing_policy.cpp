#include "catimage/router/routing_policy.hpp"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cmath>

#include "catimage/util/error.hpp"
#include "catimage/util/strings.hpp"

namespace catimage {

std::vector<double> column_means(const Matrix& q) {
  std::vector<double> mean(q.cols, 0.0);
  if (q.rows == 0) return mean;
  for (std::size_t i = 0; i < q.rows; ++i)
    for (std::size_t k = 0; k < q.cols; ++k) mean[k] += q(i, k);
  for (auto& m : mean) m /= q.rows;
  return mean;
}

int best_single(const std::vector<double>& mean, const std::vector<double>& costs, const std::vector<char>& allowed) {
  int best = -1;
  for (std::size_t k = 0; k < mean.size(); ++k) {
    if (!allowed.empty() && !allowed[k]) continue;
    if (best < 0 || mean[k] > mean[best] || (mean[k] == mean[best] && costs[k] < costs[best]))
      best = static_cast<int>(k);
  }
  return best;
}

RoutingPolicy::RoutingPolicy(std::vector<std::string> names, std::vector<double> costs, std::string cost_unit,
                             std::string origin)
    : names_(std::move(names)), costs_(std::move(costs)), unit_(std::move(cost_unit)), origin_(std::move(origin)) {
  if (names_.size() != costs_.size()) fail("routing: {} names for {} costs", names_.size(), costs_.size());
  if (names_.empty()) fail("routing: no candidates");
}

std::vector<char> RoutingPolicy::allowed(std::optional<double> max_cost,
                                         const std::vector<std::string>& exclude) const {
  if (!max_cost && exclude.empty()) return {};
  std::vector<char> ok(costs_.size(), 1);
  for (const auto& name : exclude) {
    auto it = std::find(names_.begin(), names_.end(), name);
    if (it == names_.end()) fail("--exclude \"{}\" is not in {} (candidates: {})", name, origin_, join(names_, ", "));
    ok[it - names_.begin()] = 0;
  }
  if (std::find(ok.begin(), ok.end(), 1) == ok.end()) fail("every candidate of {} is excluded", origin_);
  if (max_cost) {
    if (!std::isfinite(*max_cost) || *max_cost < 0) fail("--max-cost must be a finite number >= 0, got {}", *max_cost);
    double cheapest = -1;
    bool any = false;
    for (std::size_t k = 0; k < costs_.size(); ++k) {
      if (!ok[k]) continue;
      if (cheapest < 0 || costs_[k] < cheapest) cheapest = costs_[k];
      any |= (ok[k] = costs_[k] <= *max_cost);
    }
    if (!any)
      fail("--max-cost {} excludes every remaining candidate (the cheapest costs {} {})", *max_cost, cheapest, unit_);
  }
  return ok;
}

const char* objective_name(Objective o) { return o == Objective::savings ? "savings" : "quality"; }

Objective parse_objective(const std::string& s) {
  if (s == "quality") return Objective::quality;
  if (s == "savings") return Objective::savings;
  fail(
      "--objective must be quality (the best quality at the best single's cost) or savings (the least cost at its "
      "quality), got \"{}\"",
      s);
}

RoutingPolicy::Prepared RoutingPolicy::prepare(const Matrix& q, const RoutingRequest& req,
                                               const std::vector<double>* option_costs) const {
  if (q.cols != costs_.size()) fail("routing: predictions for {} candidates, {} in the config", q.cols, costs_.size());
  if (option_costs && option_costs->size() != costs_.size())
    fail("routing: {} option costs for {} candidates", option_costs->size(), costs_.size());
  if (!(req.margin >= 0) || !std::isfinite(req.margin))
    fail("--margin must be a finite number >= 0, got {}", req.margin);
  Prepared p{allowed(req.max_cost, req.exclude), column_means(q), 0, req.candidate.empty() ? req.margin : 0.0,
             Router(option_costs ? *option_costs : costs_, {})};
  if (!req.reference_quality.empty() && req.reference_quality.size() != costs_.size())
    fail("routing: {} reference qualities for {} candidates", req.reference_quality.size(), costs_.size());
  p.keep = best_single(req.reference_quality.empty() ? p.mean : req.reference_quality, costs_, p.allowed);
  p.router = Router(option_costs ? *option_costs : costs_, p.allowed);
  p.router.set_predictions(p.margin > 0 ? guarded_predictions(q, p.keep, p.margin) : q);
  return p;
}

Router RoutingPolicy::router_for(const Matrix& q, const RoutingRequest& req,
                                 const std::vector<double>* option_costs) const {
  return prepare(q, req, option_costs).router;
}

RoutingOutcome RoutingPolicy::route(Matrix q, const RoutingRequest& req,
                                    const std::vector<double>* option_costs) const {
  if ((req.lambda.has_value() + req.budget.has_value() + !req.candidate.empty()) > 1)
    fail("give at most one of --lambda, --budget and --candidate");
  Prepared p = prepare(q, req, option_costs);
  const Router& router = p.router;
  const std::vector<double>& pay = router.costs();
  RoutingOutcome out;
  out.allowed = std::move(p.allowed);
  out.mean_predicted = std::move(p.mean);
  out.best_single = p.keep;
  const int keep = out.best_single;
  out.margin = p.margin;
  const bool empty = q.rows == 0;
  // Predicted means are reported on the unguarded predictions.
  auto unguarded = [&](Routing r) {
    double sum = 0;
    for (std::size_t i = 0; i < r.choice.size(); ++i) sum += q(i, r.choice[i]);
    r.mean_predicted = r.choice.empty() ? 0.0 : sum / r.choice.size();
    return r;
  };
  const double budget_default = costs_[keep];
  // Likewise the last sweep routing within a budget can predict less than the kept candidate
  // alone when that fits the budget too: then the kept candidate is the answer.
  auto solve_budget = [&](double budget) {
    if (empty) return Routing{};
    Routing r = router.route_budget(budget);
    if (pay[keep] <= budget * (1 + 1e-12) && r.mean_predicted < out.mean_predicted[keep]) {
      const double lambda = r.lambda;
      r = router.route_forced(keep);
      r.lambda = lambda;
    }
    return r;
  };
  // The quality target of the savings objective: the kept candidate's predicted mean. It is met
  // on the predictions the router routes with, i.e. with a margin on the guarded ones: every
  // departure pays tau, cheaper ones too. Leave-cluster-out CV chose this over meeting it on the
  // unguarded predictions, which lost quality on unseen clusters (README, "The guard").
  // The sweep's routings are the Lagrangian ones: the last that reaches the target can cost more
  // than every prompt on the kept candidate, which reaches it too (exactly, on the guarded
  // predictions: the guard does not touch the kept column). The cheaper of the two is the answer,
  // so the savings objective never costs more than the best single.
  auto solve_savings = [&] {
    if (empty) return Routing{};
    Routing r = router.route_min_cost(out.mean_predicted[keep]);
    if (r.mean_cost > pay[keep]) {
      const double lambda = r.lambda;
      r = router.route_forced(keep);
      r.lambda = lambda;
    }
    return r;
  };
  // (a cascade's options may all cost more than the best single alone: then there is no
  // routing at its cost, and the default mode is an error below)
  const bool fits = router.min_mean_cost() <= budget_default * (1 + 1e-12);
  if (fits) out.equal_cost = unguarded(solve_budget(budget_default));
  out.equal_quality = unguarded(solve_savings());
  if (!req.candidate.empty()) {
    auto it = std::find(names_.begin(), names_.end(), req.candidate);
    if (it == names_.end())
      fail("--candidate \"{}\" is not in {} (candidates: {})", req.candidate, origin_, join(names_, ", "));
    const int k = static_cast<int>(it - names_.begin());
    if (!out.allowed.empty() && !out.allowed[k])
      fail("--candidate {} is excluded (by --max-cost or --exclude, or it cannot generate here)", req.candidate);
    out.routing = router.route_forced(k);
    out.mode = "forced " + req.candidate;
  } else if (req.lambda) {
    out.routing = router.route_lambda(*req.lambda);
    out.mode = fmt::format("lambda {}", *req.lambda);
  } else if (req.budget) {
    out.routing = solve_budget(*req.budget);
    out.mode = fmt::format("budget {}, lambda {:.6g}", *req.budget, out.routing.lambda);
  } else if (req.objective == Objective::savings) {
    out.routing = out.equal_quality;
    out.mode = fmt::format("objective savings: least cost at the predicted quality of {}, lambda {:.6g}", names_[keep],
                           out.routing.lambda);
  } else {
    if (!fits && !empty)
      fail("the cheapest routing costs {:.6g} {} on average, more than {} alone ({:.6g}): give --budget or --lambda",
           router.min_mean_cost(), unit_, names_[keep], budget_default);
    out.routing = out.equal_cost;
    out.mode = fmt::format("objective quality: budget {:.4g} = cost of {}, lambda {:.6g}", budget_default, names_[keep],
                           out.routing.lambda);
  }
  out.routing = unguarded(std::move(out.routing));
  if (out.margin > 0) out.mode += fmt::format(", margin {:.4g} over {}", out.margin, names_[keep]);
  out.guard = guard_marks(q, pay, out.allowed, out.routing.lambda, keep, out.margin, out.routing.choice);
  return out;
}

}  // namespace catimage
