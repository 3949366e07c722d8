#include "catimage/eval/metrics.hpp"

#include <algorithm>
#include <limits>

#include "catimage/router/router.hpp"
#include "catimage/router/routing_policy.hpp"
#include "catimage/util/error.hpp"

namespace catimage {

namespace {

constexpr double kRel = 1e-12;

double best_quality_within(const std::vector<CurvePoint>& curve, double cost_limit) {
  double best = -std::numeric_limits<double>::infinity();
  for (const auto& p : curve)
    if (p.cost <= cost_limit * (1 + kRel) + kRel) best = std::max(best, p.quality);
  return best;
}

std::vector<CurvePoint> curve_of(const Router& router, const Matrix& truth, const Matrix& predicted) {
  return quality_cost_curve(router.paths(), truth, predicted, router.costs());
}

}  // namespace

double area_under_hull(const std::vector<CurvePoint>& curve, double c_lo, double c_hi) {
  auto h = nondecreasing_hull(curve);
  if (h.empty()) return 0;
  if (!(c_hi > c_lo)) return h.back().quality;
  // value of the hull at cost c (flat before the first vertex and after the last)
  auto value = [&](double c) {
    if (c <= h.front().cost) return h.front().quality;
    if (c >= h.back().cost) return h.back().quality;
    auto it = std::upper_bound(h.begin(), h.end(), c, [](double x, const CurvePoint& p) { return x < p.cost; });
    const auto& b = *it;
    const auto& a = *std::prev(it);
    return a.quality + (b.quality - a.quality) * (c - a.cost) / (b.cost - a.cost);
  };
  // integrate the piecewise-linear function exactly over its breakpoints inside [lo, hi]
  std::vector<double> xs = {c_lo, c_hi};
  for (const auto& p : h)
    if (p.cost > c_lo && p.cost < c_hi) xs.push_back(p.cost);
  std::sort(xs.begin(), xs.end());
  double area = 0;
  for (std::size_t i = 1; i < xs.size(); ++i) area += 0.5 * (value(xs[i - 1]) + value(xs[i])) * (xs[i] - xs[i - 1]);
  return area / (c_hi - c_lo);
}

std::optional<double> apgr(const std::vector<CurvePoint>& curve, OperatingPoint weak, OperatingPoint strong) {
  if (!(strong.quality > weak.quality) || !(strong.cost > weak.cost)) return std::nullopt;
  // Step function: the best quality any routing reaches within cost c.
  std::vector<CurvePoint> pts = curve;
  std::sort(pts.begin(), pts.end(), [](const CurvePoint& a, const CurvePoint& b) { return a.cost < b.cost; });
  double area = 0, best = weak.quality, at = weak.cost;
  for (const auto& p : pts) {
    if (p.cost >= strong.cost) break;
    if (p.cost > at) {
      area += (best - weak.quality) * (p.cost - at);
      at = p.cost;
    }
    best = std::max(best, p.quality);
  }
  area += (best - weak.quality) * (strong.cost - at);
  // a routing exactly at strong.cost counts for the final instant only (measure zero)
  return area / ((strong.quality - weak.quality) * (strong.cost - weak.cost));
}

CurveFigures curve_figures(const std::vector<CurvePoint>& curve, const EvalResult& base,
                           const std::vector<CurvePoint>* oracle) {
  CurveFigures f;
  const auto& bs = base.singles[base.best_single];
  f.max_quality = -std::numeric_limits<double>::infinity();
  for (const auto& p : curve) f.max_quality = std::max(f.max_quality, p.quality);
  f.quality_at_best_single_cost = best_quality_within(curve, bs.cost);
  for (const auto& p : curve)
    if (p.quality >= bs.quality && bs.cost > 0) {
      double frac = p.cost / bs.cost;
      if (!f.cost_to_match_best_single || frac < *f.cost_to_match_best_single) f.cost_to_match_best_single = frac;
    }
  if (oracle) {
    double o = best_quality_within(*oracle, bs.cost);
    if (o > bs.quality) f.oracle_gap_captured = (f.quality_at_best_single_cost - bs.quality) / (o - bs.quality);
  }
  double lo = *std::min_element(base.costs.begin(), base.costs.end());
  double hi = *std::max_element(base.costs.begin(), base.costs.end());
  f.aiq = area_under_hull(curve, lo, hi);
  f.apgr = apgr(curve, base.singles[base.cheapest], bs);
  return f;
}

RoutedPoint measure_routing(const Matrix& truth, const std::vector<double>& costs, const Routing& r, int keep,
                            const GuardMarks* guard) {
  RoutedPoint p;
  if (r.choice.size() != truth.rows || truth.rows == 0) return p;
  p.defined = true;
  long double q = 0, c = 0;
  std::size_t away = 0, held = 0;
  for (std::size_t i = 0; i < truth.rows; ++i) {
    q += truth(i, r.choice[i]);
    c += costs.at(r.choice[i]);
    away += r.choice[i] != keep;
    held += guard && guard->fallback.at(i);
  }
  const double n = static_cast<double>(truth.rows);
  p.quality = static_cast<double>(q / n);
  p.cost = static_cast<double>(c / n);
  p.predicted = r.mean_predicted;
  p.lambda = r.lambda;
  p.departed = away / n;
  p.fallback = held / n;
  return p;
}

EvalResult evaluate(const Matrix& truth, const Matrix& predicted, const std::vector<double>& costs,
                    const std::vector<std::string>& names, const RoutingRequest& request) {
  if (truth.rows != predicted.rows || truth.cols != predicted.cols || truth.cols != costs.size() ||
      names.size() != costs.size())
    fail("evaluate: shapes differ (truth {}x{}, predicted {}x{}, {} costs)", truth.rows, truth.cols, predicted.rows,
         predicted.cols, costs.size());
  if (truth.rows == 0) fail("evaluate: no prompts");
  EvalResult r;
  r.prompts = truth.rows;
  r.names = names;
  r.costs = costs;
  const std::size_t m = costs.size();
  r.singles.resize(m);
  const std::vector<double> mean = column_means(truth);
  for (std::size_t k = 0; k < m; ++k) r.singles[k] = {mean[k], costs[k]};
  r.best_single = best_single(mean, costs);
  for (std::size_t k = 1; k < m; ++k) {
    const auto& a = r.singles[k];
    const auto& c = r.singles[r.cheapest];
    if (a.cost < c.cost || (a.cost == c.cost && a.quality > c.quality)) r.cheapest = k;
  }
  for (const auto& s : r.singles) {
    r.random.quality += s.quality / m;
    r.random.cost += s.cost / m;
  }
  const RoutingPolicy policy(names, costs);
  r.router_curve = curve_of(policy.router_for(predicted, request), truth, predicted);
  Router oracle(costs);
  oracle.set_predictions(truth);
  r.oracle_curve = curve_of(oracle, truth, truth);
  const RoutingOutcome routed = policy.route(predicted, request);
  r.route.mode = routed.mode;
  r.route.keep = names[routed.best_single];
  r.route.margin = routed.margin;
  auto measured = [&](const Routing& rt) {
    if (rt.choice.size() != truth.rows) return RoutedPoint{};
    const GuardMarks g =
        guard_marks(predicted, costs, routed.allowed, rt.lambda, routed.best_single, routed.margin, rt.choice);
    return measure_routing(truth, costs, rt, routed.best_single, &g);
  };
  r.route.requested = measured(routed.routing);
  r.route.equal_cost = measured(routed.equal_cost);
  r.route.equal_quality = measured(routed.equal_quality);
  r.oracle = curve_figures(r.oracle_curve, r, &r.oracle_curve);
  r.router = curve_figures(r.router_curve, r, &r.oracle_curve);
  return r;
}

void add_router(EvalResult& r, std::string name, const Matrix& realised, const Matrix& predicted,
                const std::vector<double>& option_costs, int keep) {
  if (realised.rows != r.prompts || predicted.rows != r.prompts || realised.cols != predicted.cols ||
      realised.cols != option_costs.size() || option_costs.size() != r.costs.size())
    fail("add_router {}: shapes differ ({} prompts; realised {}x{}, predicted {}x{}, {} costs)", name, r.prompts,
         realised.rows, realised.cols, predicted.rows, predicted.cols, option_costs.size());
  ExtraRouter e;
  e.name = std::move(name);
  // As route runs it (batch/cascade_job): the options priced, the default budget the cost of the
  // candidate with the best mean predicted quality.
  const RoutingPolicy policy(r.names, r.costs);
  const RoutingRequest request;
  const Router router = policy.router_for(predicted, request, &option_costs);
  e.curve = quality_cost_curve(router.paths(), realised, predicted, option_costs);
  e.figures = curve_figures(e.curve, r, &r.oracle_curve);
  if (keep >= 0) {
    const double budget = r.singles[r.best_single].cost;
    if (*std::min_element(option_costs.begin(), option_costs.end()) <= budget) {
      const Routing at = router.route_budget(budget);
      std::size_t away = 0;
      for (int c : at.choice) away += c != keep;
      e.departed_at_best_single_cost = static_cast<double>(away) / at.choice.size();
    }
  }
  try {
    const RoutingOutcome routed = policy.route(predicted, request, &option_costs);
    e.route.mode = routed.mode;
    e.route.keep = r.names[routed.best_single];
    e.route.requested = measure_routing(realised, option_costs, routed.routing, keep);
    e.route.equal_cost = measure_routing(realised, option_costs, routed.equal_cost, keep);
    e.route.equal_quality = measure_routing(realised, option_costs, routed.equal_quality, keep);
  } catch (const Error&) {
    // every option costs more than the kept candidate alone (a large scoring cost): route
    // refuses its default there, and the figures stay undefined
  }
  r.extra.push_back(std::move(e));
}

}  // namespace catimage
