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

RoutingOutcome RoutingPolicy::route(Matrix q, const RoutingRequest& req) const {
  if ((req.lambda.has_value() + req.budget.has_value() + !req.candidate.empty()) > 1)
    fail("give at most one of --lambda, --budget and --candidate");
  RoutingOutcome out;
  out.allowed = allowed(req.max_cost, req.exclude);
  out.mean_predicted = column_means(q);
  out.best_single = best_single(out.mean_predicted, costs_, out.allowed);
  const bool empty = q.rows == 0;
  if (!(req.margin >= 0) || !std::isfinite(req.margin))
    fail("--margin must be a finite number >= 0, got {}", req.margin);
  const bool guard = req.margin > 0 && req.candidate.empty();
  Router router(costs_, out.allowed);
  router.set_predictions(guard ? guarded_predictions(q, out.best_single, req.margin) : q);
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
  } else {
    double budget = 0;
    if (req.budget) {
      budget = *req.budget;
      out.mode = fmt::format("budget {}", budget);
    } else {
      // Default: spend what always using the best single candidate would cost.
      budget = costs_[out.best_single];
      out.mode = fmt::format("budget {:.4g} = cost of {}", budget, names_[out.best_single]);
    }
    out.routing = empty ? Routing{} : router.route_budget(budget);
    out.mode += fmt::format(", lambda {:.6g}", out.routing.lambda);
  }
  if (guard) {
    out.mode += fmt::format(", margin {:.4g} over {}", req.margin, names_[out.best_single]);
    // report the unguarded predictions of the chosen candidates
    double sum = 0;
    for (std::size_t i = 0; i < q.rows; ++i) sum += q(i, out.routing.choice[i]);
    out.routing.mean_predicted = q.rows ? sum / q.rows : 0.0;
  }
  out.guard = guard_marks(q, costs_, out.allowed, out.routing.lambda, out.best_single,
                          req.candidate.empty() ? req.margin : 0.0, out.routing.choice);
  return out;
}

}  // namespace catimage
