#include "catimage/router/router.hpp"

#include <cmath>

#include "catimage/router/lambda_sweep.hpp"
#include "catimage/util/error.hpp"

namespace catimage {

Router::Router(std::vector<double> costs, std::vector<char> allowed)
    : costs_(std::move(costs)), allowed_(std::move(allowed)) {
  if (!allowed_.empty() && allowed_.size() != costs_.size())
    fail("router: {} allowed flags for {} candidates", allowed_.size(), costs_.size());
}

void Router::set_predictions(Matrix q) {
  if (q.cols != costs_.size()) fail("router: predictions have {} candidates, costs have {}", q.cols, costs_.size());
  q_ = std::move(q);
  paths_.clear();
  paths_.reserve(q_.rows);
  for (std::size_t i = 0; i < q_.rows; ++i)
    paths_.push_back(RoutingPath::build(q_.row(i), costs_.data(), costs_.size(), allowed_));
}

Routing Router::finish(std::vector<int> choice, double lambda) const {
  Routing r;
  r.lambda = lambda;
  double c = 0, p = 0;
  for (std::size_t i = 0; i < choice.size(); ++i) {
    c += costs_[choice[i]];
    p += q_(i, choice[i]);
  }
  std::size_t n = choice.empty() ? 1 : choice.size();
  r.mean_cost = c / n;
  r.mean_predicted = p / n;
  r.choice = std::move(choice);
  return r;
}

Routing Router::route_lambda(double lambda) const {
  if (!(lambda >= 0) || !std::isfinite(lambda)) fail("lambda must be a finite number >= 0, got {}", lambda);
  std::vector<int> choice(paths_.size());
  for (std::size_t i = 0; i < paths_.size(); ++i) choice[i] = paths_[i].at(lambda);
  return finish(std::move(choice), lambda);
}

Routing Router::route_budget(double budget) const {
  if (!(budget >= 0) || !std::isfinite(budget)) fail("budget must be a finite number >= 0, got {}", budget);
  const std::size_t n = paths_.size();
  if (n == 0) return finish({}, 0.0);
  const double limit = budget * n * (1 + 1e-12);
  bool found = false;
  Routing out;
  long double total = 0;
  for (const auto& p : paths_) total += costs_[p.steps().front().candidate];
  std::vector<SwitchEvent> ev = sweep_events(paths_);
  for_each_routing(paths_, ev, [&](double lambda, const std::vector<int>& choice, std::size_t a, std::size_t b) {
    for (std::size_t k = a; k < b; ++k) total += costs_[ev[k].to] - costs_[ev[k].from];
    if (total > limit * (1 + 1e-9)) return true;
    long double exact = 0;  // confirm without the drift of incremental updates
    for (int c : choice) exact += costs_[c];
    if (exact > limit) return true;
    out = finish(choice, lambda);
    found = true;
    return false;
  });
  if (!found)
    fail(
        "budget {} is below the cheapest possible average cost {:.6g} (every prompt on its "
        "cheapest allowed candidate)",
        budget, static_cast<double>(total / n));
  return out;
}

Routing Router::route_min_cost(double target) const {
  if (!std::isfinite(target)) fail("the quality target must be a finite number, got {}", target);
  const std::size_t n = paths_.size();
  if (n == 0) return finish({}, 0.0);
  // A relative tolerance keeps a routing equal to the target in exact arithmetic (e.g. every
  // prompt on the candidate whose mean is the target) from being lost to rounding.
  const long double limit = static_cast<long double>(target) * n - 1e-9L * (std::abs(target) * n + 1);
  long double total = 0;
  for (std::size_t i = 0; i < n; ++i) total += q_(i, paths_[i].steps().front().candidate);
  if (total < limit) fail("no routing reaches a mean predicted quality of {:.6g}", target);
  // Along the sweep each switch lowers the predicted sum: the answer is the last routing that
  // still reaches the target.
  double last = 0;
  std::vector<SwitchEvent> ev = sweep_events(paths_);
  for_each_routing(paths_, ev, [&](double lambda, const std::vector<int>&, std::size_t a, std::size_t b) {
    for (std::size_t k = a; k < b; ++k) total += q_(ev[k].prompt, ev[k].to) - q_(ev[k].prompt, ev[k].from);
    if (total < limit) return false;
    last = lambda;
    return true;
  });
  return route_lambda(last);
}

double Router::min_mean_cost() const {
  long double c = 0;
  for (const auto& p : paths_) c += costs_[p.steps().back().candidate];
  return paths_.empty() ? 0.0 : static_cast<double>(c / paths_.size());
}

Routing Router::route_forced(int candidate) const {
  if (candidate < 0 || static_cast<std::size_t>(candidate) >= costs_.size()) fail("router: no candidate {}", candidate);
  return finish(std::vector<int>(paths_.size(), candidate), 0.0);
}

}  // namespace catimage
