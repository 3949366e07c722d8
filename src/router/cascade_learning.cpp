#include "catimage/router/cascade_learning.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "catimage/router/router.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/hash.hpp"

namespace catimage {

namespace {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

double unit_interval(std::uint64_t h) { return static_cast<double>(h >> 11) * 0x1.0p-53; }

}  // namespace

CascadeLearner::CascadeLearner(LearningBatch batch, RoutingRequest request, LearningOptions options,
                               DifferenceRefit refit, std::vector<std::string> names, std::string cost_unit)
    : b_(std::move(batch)),
      request_(std::move(request)),
      o_(options),
      refit_(std::move(refit)),
      names_(std::move(names)),
      unit_(std::move(cost_unit)) {
  const std::size_t n = b_.ids.size(), m = b_.costs.size();
  if (b_.observed.size() != n) fail("cascade learning: {} observed scores for {} prompts", b_.observed.size(), n);
  for (std::size_t i = 0; i < n; ++i)
    if (!std::isfinite(b_.observed[i])) fail("cascade learning: the first score of prompt {} is not finite", b_.ids[i]);
  if (names_.size() != m) fail("cascade learning: {} names for {} candidates", names_.size(), m);
  if (o_.every < 1) fail("--learn-every must be at least 1, got {}", o_.every);
  if (!(o_.explore >= 0 && o_.explore < 1)) fail("--explore must be in [0, 1), got {}", o_.explore);
  if (!(o_.run_weight > 0) || !std::isfinite(o_.run_weight))
    fail("--learn-weight must be a finite number > 0, got {}", o_.run_weight);
  if (!(o_.max_ipw >= 1)) fail("the inverse-propensity cap must be >= 1, got {}", o_.max_ipw);
  if (!request_.candidate.empty()) fail("--cascade chooses per prompt: it takes no --candidate");
  if (request_.objective == Objective::savings && !request_.lambda && !request_.budget)
    fail(
        "--learn re-solves the budget as it learns: give --budget or --lambda, or the default objective quality "
        "(--objective savings is not supported with --learn)");
  option_costs_ = cascade_costs(b_.costs, b_.cascade);
  const int first = b_.cascade.first;
  allowed_ = RoutingPolicy(names_, b_.costs, unit_).allowed(request_.max_cost, request_.exclude);
  if (!allowed_.empty() && !allowed_[first]) fail("--cascade: the first candidate {} is excluded", names_[first]);
  std::vector<int> arms;  // the candidates exploration draws from
  for (std::size_t k = 0; k < m; ++k)
    if (static_cast<int>(k) != first && (allowed_.empty() || allowed_[k])) arms.push_back(static_cast<int>(k));
  if (o_.explore > 0 && arms.empty()) fail("--explore: no allowed candidate besides the first one to explore");
  drawn_.assign(n, -1);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t h = splitmix64(fnv1a64(b_.ids[i]) ^ splitmix64(o_.seed));
    if (unit_interval(h) < o_.explore) {
      drawn_[i] = arms[splitmix64(h) % arms.size()];
      reserved_ += option_costs_[drawn_[i]];
    }
  }
  std::size_t routed = 0;
  for (int d : drawn_) routed += d < 0;
  if (request_.lambda) {
    if (!(*request_.lambda >= 0) || !std::isfinite(*request_.lambda))
      fail("--lambda must be a finite number >= 0, got {}", *request_.lambda);
    total_budget_ = std::numeric_limits<double>::infinity();
    return;
  }
  if (request_.budget) {
    total_budget_ = *request_.budget * n;
  } else {
    // The default objective: the cost of the candidate with the best mean predicted option
    // quality under the initial predictor (the static cascade's default budget).
    std::vector<std::size_t> all(n);
    for (std::size_t i = 0; i < n; ++i) all[i] = i;
    const Matrix p = option_predictions(all, refit_({}, all));
    const int keep = best_single(column_means(p), b_.costs, allowed_);
    total_budget_ = b_.costs[keep] * n;
  }
  const double least = reserved_ + routed * option_costs_[first];
  if (n && least > total_budget_ * (1 + 1e-12))
    fail(
        "--cascade --learn: the budget {:.6g} {} per prompt is below what the first images and their scoring ({:.6g} "
        "each) and the {} explored escalations (--explore) cost together ({:.6g} per prompt)",
        total_budget_ / n, unit_, option_costs_[first], n - routed, least / n);
}

std::size_t CascadeLearner::blocks() const { return (b_.ids.size() + o_.every - 1) / o_.every; }
std::size_t CascadeLearner::block_begin(std::size_t b) const {
  return std::min(b * static_cast<std::size_t>(o_.every), b_.ids.size());
}
std::size_t CascadeLearner::block_end(std::size_t b) const { return block_begin(b + 1); }

Matrix CascadeLearner::option_predictions(const std::vector<std::size_t>& which, const Matrix& d) const {
  std::vector<double> obs;
  obs.reserve(which.size());
  for (std::size_t i : which) obs.push_back(b_.observed[i]);
  return cascade_predicted(obs, d, b_.error_std, b_.cascade);
}

std::vector<RunLabel> CascadeLearner::labels(const std::vector<CascadeDecision>& before,
                                             const std::vector<std::optional<double>>& second) const {
  std::vector<RunLabel> out;
  for (std::size_t i = 0; i < before.size(); ++i) {
    const int c = before[i].candidate;
    if (c == b_.cascade.first) continue;
    if (i >= second.size() || !second[i])
      fail("cascade learning: prompt {} escalated to {} has no second score yet", b_.ids[i], names_.at(c));
    const double ipw = std::min(1.0 / before[i].propensity, o_.max_ipw);
    out.push_back({i, c, *second[i] - b_.observed[i], o_.run_weight * ipw});
  }
  return out;
}

std::vector<CascadeDecision> CascadeLearner::plan_block(std::size_t b, const std::vector<CascadeDecision>& before,
                                                        const std::vector<std::optional<double>>& second) const {
  const std::size_t n = b_.ids.size(), begin = block_begin(b), end = block_end(b);
  if (b >= blocks()) fail("cascade learning: block {} of {}", b, blocks());
  if (before.size() != begin)
    fail("cascade learning: block {} needs the {} earlier decisions, got {}", b, begin, before.size());
  const int first = b_.cascade.first;
  const std::vector<RunLabel> lab = labels(before, second);
  double committed = 0, reserved_rest = 0;
  for (const auto& d : before) committed += option_costs_[d.candidate];
  std::vector<std::size_t> undecided, rest, explored_here;  // rest: routed (not explored) undecided prompts
  for (std::size_t i = begin; i < n; ++i) {
    undecided.push_back(i);
    if (drawn_[i] >= 0) {
      reserved_rest += option_costs_[drawn_[i]];
      if (i < end) explored_here.push_back(i);
    } else {
      rest.push_back(i);
    }
  }
  const Matrix options = option_predictions(undecided, refit_(lab, undecided));
  auto rows_of = [&](const std::vector<std::size_t>& which) {
    Matrix q(which.size(), options.cols);
    for (std::size_t r = 0; r < which.size(); ++r)
      for (std::size_t k = 0; k < options.cols; ++k) q(r, k) = options(which[r] - begin, k);
    return q;
  };
  // The routing of every prompt still to route, with what is left of the budget.
  double lambda = request_.lambda.value_or(0.0);
  std::vector<int> routed_choice;
  if (!rest.empty()) {
    Router router(option_costs_, allowed_);
    router.set_predictions(rows_of(rest));
    Routing r;
    if (request_.lambda) {
      r = router.route_lambda(*request_.lambda);
    } else {
      const double left = total_budget_ - committed - reserved_rest;
      // never below the cheapest routing (the previous block's routing of these prompts fits what
      // is left, up to rounding)
      r = router.route_budget(std::max(left / rest.size(), router.min_mean_cost()));
    }
    lambda = r.lambda;
    routed_choice = std::move(r.choice);
  }
  // What the router would choose for the explored prompts at the block's lambda (their propensity).
  std::vector<int> explored_router;
  if (!explored_here.empty()) {
    Router router(option_costs_, allowed_);
    router.set_predictions(rows_of(explored_here));
    explored_router = router.route_lambda(lambda).choice;
  }
  std::size_t arms = 0;
  for (std::size_t k = 0; k < b_.costs.size(); ++k)
    arms += static_cast<int>(k) != first && (allowed_.empty() || allowed_[k]);
  auto propensity = [&](int chosen, int router_choice) {
    double p = (1 - o_.explore) * (chosen == router_choice ? 1.0 : 0.0);
    if (chosen != first && o_.explore > 0) p += o_.explore / arms;
    return p;
  };
  std::vector<CascadeDecision> out;
  std::size_t ri = 0, ei = 0;
  for (std::size_t i = begin; i < end; ++i) {
    CascadeDecision d;
    d.block = static_cast<int>(b);
    d.lambda = lambda;
    if (drawn_[i] >= 0) {
      d.explored = true;
      d.candidate = drawn_[i];
      d.router_choice = explored_router[ei++];
    } else {
      d.candidate = d.router_choice = routed_choice[ri++];
    }
    d.propensity = propensity(d.candidate, d.router_choice);
    for (std::size_t k = 0; k < options.cols; ++k) d.predicted.push_back(options(i - begin, k));
    out.push_back(d);
  }
  return out;
}

}  // namespace catimage
