#include "catimage/eval/report.hpp"

#include <sstream>

#include <spdlog/fmt/fmt.h>

namespace catimage {

namespace {

std::string opt(const std::optional<double>& v, const char* f = "{:.4f}") {
  return v ? fmt::format(fmt::runtime(f), *v) : std::string("—");
}

json opt_json(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

json figures_json(const CurveFigures& f) {
  return {{"max_quality", f.max_quality},
          {"quality_at_best_single_cost", f.quality_at_best_single_cost},
          {"cost_to_match_best_single", opt_json(f.cost_to_match_best_single)},
          {"oracle_gap_captured", opt_json(f.oracle_gap_captured)},
          {"aiq", f.aiq},
          {"apgr", opt_json(f.apgr)}};
}

json point_json(const RoutedPoint& p) {
  if (!p.defined) return nullptr;
  return {{"quality", p.quality}, {"cost", p.cost},         {"predicted", p.predicted},
          {"lambda", p.lambda},   {"departed", p.departed}, {"fallback", p.fallback}};
}

json route_json(const RouteFigures& f) {
  return {{"mode", f.mode},
          {"keep", f.keep},
          {"margin", f.margin},
          {"requested", point_json(f.requested)},
          {"equal_cost", point_json(f.equal_cost)},
          {"equal_quality", point_json(f.equal_quality)}};
}

json curve_json(const std::vector<CurvePoint>& c) {
  json a = json::array();
  for (const auto& p : c)
    a.push_back({{"lambda", p.lambda}, {"cost", p.cost}, {"quality", p.quality}, {"predicted", p.predicted}});
  return a;
}

}  // namespace

std::string eval_markdown(const EvalResult& r, const std::string& title, const std::string& unit) {
  std::ostringstream o;
  const auto& bs = r.singles[r.best_single];
  o << "## " << title << "\n\n";
  o << fmt::format("{} prompts; cost unit: {}; best single candidate: {} (quality {:.4f}, cost {:.4f})\n\n", r.prompts,
                   unit, r.names[r.best_single], bs.quality, bs.cost);
  o << "| method | mean quality | mean cost | cost / best single |\n|---|---:|---:|---:|\n";
  for (std::size_t k = 0; k < r.names.size(); ++k)
    o << fmt::format("| {}{} | {:.4f} | {:.4f} | {:.3f} |\n", r.names[k],
                     static_cast<int>(k) == r.best_single ? " (best single)" : "", r.singles[k].quality,
                     r.singles[k].cost, r.singles[k].cost / bs.cost);
  o << fmt::format("| uniform random | {:.4f} | {:.4f} | {:.3f} |\n", r.random.quality, r.random.cost,
                   r.random.cost / bs.cost);
  o << "\n| curve | max quality | quality @ best-single cost | Δ vs best single | cost to match best single | oracle "
       "gain captured | AIQ | APGR |\n";
  o << "|---|---:|---:|---:|---:|---:|---:|---:|\n";
  auto row = [&](const char* name, const CurveFigures& f) {
    o << fmt::format("| {} | {:.4f} | {:.4f} | {:+.4f} | {} | {} | {:.4f} | {} |\n", name, f.max_quality,
                     f.quality_at_best_single_cost, f.quality_at_best_single_cost - bs.quality,
                     opt(f.cost_to_match_best_single, "{:.3f}"),
                     (f.oracle_gap_captured ? fmt::format("{:.1f}%", 100 * *f.oracle_gap_captured) : std::string("—")),
                     f.aiq, opt(f.apgr, "{:.4f}"));
  };
  row("router", r.router);
  for (const auto& e : r.extra) row(e.name.c_str(), e.figures);
  row("oracle", r.oracle);
  o << fmt::format("\nrouter curve: {} distinct routings{}; oracle curve: {}.\n", r.router_curve.size(),
                   r.route.margin > 0 ? fmt::format(" (guarded: margin {:.4g} over {})", r.route.margin, r.route.keep)
                                      : std::string(),
                   r.oracle_curve.size());
  // What route runs on these prompts, measured.
  o << fmt::format("\nWhat `route` runs on these prompts ({}), measured on the table:\n\n", r.route.mode);
  o << "| routing | mean quality | Δ vs best single | mean cost | cost / best single | departing | held by the guard "
       "|\n|---|---:|---:|---:|---:|---:|---:|\n";
  auto point = [&](const std::string& name, const RoutedPoint& p) {
    if (!p.defined) {
      o << "| " << name << " | — | — | — | — | — | — |\n";
      return;
    }
    o << fmt::format("| {} | {:.4f} | {:+.4f} | {:.4f} | {:.3f} | {:.1f}% | {:.1f}% |\n", name, p.quality,
                     p.quality - bs.quality, p.cost, bs.cost > 0 ? p.cost / bs.cost : 0.0, 100 * p.departed,
                     100 * p.fallback);
  };
  point("as requested", r.route.requested);
  point("--objective quality (its cost)", r.route.equal_cost);
  point("--objective savings (its quality)", r.route.equal_quality);
  for (const auto& e : r.extra) {
    point(e.name + ", quality", e.route.equal_cost);
    point(e.name + ", savings", e.route.equal_quality);
  }
  if (r.route.equal_quality.defined && bs.cost > 0)
    o << fmt::format(
        "\nAt equal quality (savings): {:.1f}% of the best single's cost saved, quality {:+.4f}; at "
        "equal cost (quality): {:+.4f}.\n",
        100 * (1 - r.route.equal_quality.cost / bs.cost), r.route.equal_quality.quality - bs.quality,
        r.route.equal_cost.defined ? r.route.equal_cost.quality - bs.quality : 0.0);
  for (const auto& e : r.extra)
    if (e.departed_at_best_single_cost)
      o << fmt::format("{}: at the best single's cost, {:.1f}% of prompts go beyond the first option.\n", e.name,
                       100 * *e.departed_at_best_single_cost);
  return o.str();
}

std::string eval_curves_csv(const EvalResult& r) {
  std::ostringstream o;
  o << "curve,lambda,cost,quality,predicted\n";
  auto dump = [&](const char* n, const std::vector<CurvePoint>& c) {
    for (const auto& p : c)
      o << fmt::format("{},{:.10g},{:.10g},{:.10g},{:.10g}\n", n, p.lambda, p.cost, p.quality, p.predicted);
  };
  dump("router", r.router_curve);
  dump("oracle", r.oracle_curve);
  for (const auto& e : r.extra) dump(e.name.c_str(), e.curve);
  for (std::size_t k = 0; k < r.names.size(); ++k)
    o << fmt::format("single:{},,{:.10g},{:.10g},\n", r.names[k], r.singles[k].cost, r.singles[k].quality);
  o << fmt::format("random,,{:.10g},{:.10g},\n", r.random.cost, r.random.quality);
  return o.str();
}

json eval_json(const EvalResult& r) {
  json singles = json::object();
  for (std::size_t k = 0; k < r.names.size(); ++k)
    singles[r.names[k]] = {{"quality", r.singles[k].quality}, {"cost", r.singles[k].cost}};
  json oracle = figures_json(r.oracle);
  oracle["curve"] = curve_json(r.oracle_curve);
  json extra = json::array();
  for (const auto& e : r.extra) {
    json x = figures_json(e.figures);
    x["name"] = e.name;
    x["departed_at_best_single_cost"] = opt_json(e.departed_at_best_single_cost);
    x["curve"] = curve_json(e.curve);
    x["route"] = route_json(e.route);
    extra.push_back(std::move(x));
  }
  return {{"routers", extra},
          {"prompts", r.prompts},
          {"singles", singles},
          {"best_single", r.names[r.best_single]},
          {"cheapest_single", r.names[r.cheapest]},
          {"random", {{"quality", r.random.quality}, {"cost", r.random.cost}}},
          {"oracle", oracle},
          {"router", figures_json(r.router)},
          {"route", route_json(r.route)},
          {"curve", curve_json(r.router_curve)}};
}

}  // namespace catimage
