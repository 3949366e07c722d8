#include "catimage/router/constrained_router.hpp"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "catimage/router/lambda_sweep.hpp"
#include "catimage/util/error.hpp"

namespace catimage {

namespace {

double spread(const Matrix& q) {
  if (q.data.empty()) return 1;
  const auto [lo, hi] = std::minmax_element(q.data.begin(), q.data.end());
  return std::max(*hi - *lo, 1e-12);
}

struct Search {
  const Matrix& objective;
  const std::vector<double>& costs;
  const std::vector<char>& allowed;
  const std::vector<RoutingFloor>& floors;
  std::optional<double> budget;
  double lambda;
  std::vector<double> unit;  // per floor: objective spread / floor spread (mu's natural unit)
  bool have_best = false;
  bool consider_only_first = false;
  ConstrainedRouting best;
  std::size_t solves = 0;

  // The routings of multipliers mu: at a fixed lambda the one argmax; with a budget every
  // routing of the lambda sweep within it (the objective is not monotone along the sweep once
  // mu > 0: a cheaper routing than the budget needs can be the better one). `best` keeps the
  // feasible routing with the highest objective; the visit reports, per floor, the most its
  // mean reaches among them and whether one meets every floor.
  struct Visit {
    std::vector<double> means;  // per floor: the highest mean among the routings visited
    bool feasible = false;
    bool first_feasible = false;  // the routing itself (budget-solved or at lambda) meets every floor
  };

  bool meets(std::size_t k, double mean) const {
    return mean >= floors[k].floor - 1e-12 * (std::abs(floors[k].floor) + 1);
  }

  // Returns whether the routing meets every floor.
  bool consider(const std::vector<int>& choice, double lam, const std::vector<double>& mu, Visit& v) {
    const std::size_t n = choice.size();
    double obj = 0;
    for (std::size_t i = 0; i < n; ++i) obj += objective(i, choice[i]);
    obj = n ? obj / n : 0.0;
    bool ok = true;
    std::vector<double> means;
    for (std::size_t k = 0; k < floors.size(); ++k) {
      double s = 0;
      for (std::size_t i = 0; i < n; ++i) s += (*floors[k].q)(i, choice[i]);
      means.push_back(n ? s / n : 0.0);
      v.means[k] = std::max(v.means[k], means[k]);
      ok = ok && meets(k, means[k]);
    }
    v.feasible = v.feasible || ok;
    if (ok && (!have_best || obj > best.routing.mean_predicted)) {
      have_best = true;
      double c = 0;
      for (int m : choice) c += costs[m];
      best.routing.choice = choice;
      best.routing.lambda = lam;
      best.routing.mean_cost = n ? c / n : 0.0;
      best.routing.mean_predicted = obj;
      best.multipliers = mu;
      best.means = means;
    }
    return ok;
  }

  Visit visit(const std::vector<double>& mu) {
    Matrix q = objective;
    for (std::size_t k = 0; k < floors.size(); ++k)
      if (mu[k] > 0)
        for (std::size_t c = 0; c < q.data.size(); ++c) q.data[c] += mu[k] * floors[k].q->data[c];
    Router router(costs, allowed);
    router.set_predictions(std::move(q));
    ++solves;
    Visit v;
    v.means.assign(floors.size(), -std::numeric_limits<double>::infinity());
    if (!budget) {
      v.first_feasible = consider(router.route_lambda(lambda).choice, lambda, mu, v);
      return v;
    }
    const Routing first = router.route_budget(*budget);  // fails when the budget is below every routing
    const std::size_t n = first.choice.size();
    v.first_feasible = consider(first.choice, first.lambda, mu, v);
    if (n == 0 || consider_only_first) return v;
    const long double limit = static_cast<long double>(*budget) * n * (1 + 1e-12);
    const auto& paths = router.paths();
    const std::vector<SwitchEvent> ev = sweep_events(paths);
    long double total = 0;
    for (const auto& p : paths) total += costs[p.steps().front().candidate];
    // every distinct routing from the budget's onwards (incremental costs; each routing's own
    // sums are recomputed where it is considered)
    for_each_routing(paths, ev, [&](double lam, const std::vector<int>& choice, std::size_t a, std::size_t b) {
      for (std::size_t e = a; e < b; ++e) total += costs[ev[e].to] - costs[ev[e].from];
      if (lam <= first.lambda || total > limit * (1 + 1e-9)) return true;
      consider(choice, lam, mu, v);
      return true;
    });
    return v;
  }

  // The smallest mu[k] (others fixed) whose routing meets floor k; false when none up to the cap.
  bool raise(std::vector<double>& mu, std::size_t k) {
    const double start = mu[k];
    double lo = start, hi = std::max(start * 2, unit[k] * 1e-3);
    const double cap = unit[k] * 1e9;
    auto reaches = [&](double m) {
      mu[k] = m;
      return meets(k, visit(mu).means[k]);
    };
    while (!reaches(hi)) {
      lo = hi;
      hi *= 4;
      if (hi > cap) {
        mu[k] = start;
        return false;
      }
    }
    for (int it = 0; it < 200 && hi - lo > 1e-9 * hi; ++it) {
      const double mid = 0.5 * (lo + hi);
      if (reaches(mid))
        hi = mid;
      else
        lo = mid;
    }
    mu[k] = hi;
    return true;
  }
};

}  // namespace

ConstrainedRouting route_with_floors(const Matrix& objective, const std::vector<double>& costs,
                                     const std::vector<char>& allowed, const std::vector<RoutingFloor>& floors,
                                     std::optional<double> budget, double lambda) {
  for (const auto& f : floors) {
    if (!f.q || f.q->rows != objective.rows || f.q->cols != objective.cols)
      fail("floor on {}: its predictions do not match the objective's {}x{}", f.name, objective.rows, objective.cols);
    if (!std::isfinite(f.floor)) fail("floor on {}: the floor must be a finite number, got {}", f.name, f.floor);
  }
  Search s{objective, costs, allowed, floors, budget, lambda, {}, false, false, {}, 0};
  for (const auto& f : floors) s.unit.push_back(spread(objective) / spread(*f.q));
  std::vector<double> mu(floors.size(), 0.0);
  Search::Visit v = s.visit(mu);
  if (v.first_feasible) {  // floors that hold change nothing: the routing without them
    s.have_best = false;
    s.consider_only_first = true;
    v = s.visit(mu);
    s.best.solves = s.solves;
    return s.best;
  }
  // Rounds: raise each violated floor's multiplier to the least that meets it, until a routing
  // meets them all (raising one can break another; a handful of rounds settle it).
  for (int round = 0; round < 50 && !v.feasible; ++round) {
    for (std::size_t k = 0; k < floors.size(); ++k) {
      if (s.meets(k, v.means[k])) continue;
      if (!s.raise(mu, k)) {
        mu[k] = s.unit[k] * 1e9;
        const Search::Visit most = s.visit(mu);
        fail("the floor on {} ({:.6g}) cannot be met{}: the most its mean reaches is {:.6g}", floors[k].name,
             floors[k].floor, budget ? fmt::format(" within the budget {:.6g}", *budget) : std::string(),
             most.means[k]);
      }
    }
    v = s.visit(mu);
  }
  if (!s.have_best) fail("no routing meets every floor at once (tried {} multiplier settings)", s.solves);
  // The least multiplier that meets a floor is not always the best: with the budget re-solved
  // for each multiplier the objective is not monotone in it. Scan each multiplier over six
  // decades around its natural unit (others at the best setting so far), then bisect between
  // the best point's neighbours; every feasible routing visited competes.
  if (!floors.empty() && objective.rows > 0)
    for (int pass = 0; pass < 2; ++pass)
      for (std::size_t k = 0; k < floors.size(); ++k) {
        std::vector<double> m = s.best.multipliers;
        constexpr int kSteps = 240;
        auto at = [&](int e) { return e < 0 ? 0.0 : s.unit[k] * std::pow(10.0, -3.0 + 6.0 * e / kSteps); };
        int best_e = -2;
        double best_v = s.best.routing.mean_predicted;
        for (int e = -1; e <= kSteps; ++e) {
          m[k] = at(e);
          s.visit(m);
          if (s.best.routing.mean_predicted > best_v) best_v = s.best.routing.mean_predicted, best_e = e;
        }
        if (best_e < -1) continue;
        // refine between the neighbours of the best grid point
        const double lo = at(best_e - 1), hi = at(std::min(best_e + 1, kSteps));
        for (int j = 1; j < 32; ++j) {
          m[k] = lo + (hi - lo) * j / 32.0;
          s.visit(m);
        }
      }
  s.best.solves = s.solves;
  return s.best;
}

}  // namespace catimage
