#include "catimage/router/metric_routing.hpp"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cmath>

#include "catimage/router/routing_policy.hpp"
#include "catimage/util/error.hpp"

namespace catimage {

namespace {

std::size_t index_of(const std::vector<std::string>& names, const std::string& name) {
  return static_cast<std::size_t>(std::find(names.begin(), names.end(), name) - names.begin());
}

}  // namespace

MetricRouting route_metrics(const MetricRoutingInput& in, const MetricRoutingRequest& req) {
  const std::size_t nm = in.metrics.size();
  if (nm == 0 || in.predicted.size() != nm || in.scales.size() != nm)
    fail("routing on metrics: {} predictions and {} scales for {} metrics", in.predicted.size(), in.scales.size(), nm);
  if (!in.reference.empty() && in.reference.size() != nm)
    fail("routing on metrics: {} reference means for {} metrics", in.reference.size(), nm);
  if (req.budget && req.lambda) fail("give at most one of --lambda and --budget");
  const std::size_t n = in.predicted[0].rows, m = in.costs.size();
  for (const Matrix& q : in.predicted)
    if (q.rows != n || q.cols != m) fail("routing on metrics: predictions {}x{}, expected {}x{}", q.rows, q.cols, n, m);
  const std::vector<double>& pay = in.option_costs.empty() ? in.costs : in.option_costs;
  if (pay.size() != m) fail("routing on metrics: {} option costs for {} candidates", pay.size(), m);
  std::vector<const Matrix*> qs;
  for (const Matrix& q : in.predicted) qs.push_back(&q);
  const Matrix objective = combine_metrics(req.objective, in.metrics, qs, in.scales);

  // The best single candidate by the objective's reference means.
  std::vector<std::vector<double>> means(nm);
  for (std::size_t k = 0; k < nm; ++k) means[k] = column_means(in.predicted[k]);
  std::vector<Matrix> reference_rows;
  std::vector<const Matrix*> ref;
  for (std::size_t k = 0; k < nm; ++k) {
    Matrix r(1, m);
    const std::vector<double>& src = in.reference.empty() || in.reference[k].empty() ? means[k] : in.reference[k];
    if (src.size() != m)
      fail("routing on metrics: {} reference means of {} for {} candidates", src.size(), in.metrics[k], m);
    std::copy(src.begin(), src.end(), r.data.begin());
    reference_rows.push_back(std::move(r));
  }
  for (const Matrix& r : reference_rows) ref.push_back(&r);
  const Matrix ref_objective = combine_metrics(req.objective, in.metrics, ref, in.scales);
  MetricRouting out;
  out.best_single = best_single(ref_objective.data, in.costs, in.allowed);
  if (out.best_single < 0) fail("routing on metrics: no candidate is allowed");
  std::optional<double> budget = req.budget;
  if (!req.lambda && !budget) budget = in.costs[out.best_single];
  out.budget = budget ? *budget : 0.0;

  // Floors: the request's value, or the best affordable single candidate's predicted mean.
  std::vector<RoutingFloor> floors;
  for (const MetricFloor& f : req.floors) {
    const std::size_t k = index_of(in.metrics, f.metric);
    if (k == nm) fail("--floor: no predictor of metric \"{}\"", f.metric);
    double value = 0;
    if (f.value) {
      value = *f.value;
    } else {
      bool any = false;
      for (std::size_t c = 0; c < m; ++c) {
        if (!in.allowed.empty() && !in.allowed[c]) continue;
        if (budget && in.costs[c] > *budget * (1 + 1e-12)) continue;
        value = any ? std::max(value, means[k][c]) : means[k][c];
        any = true;
      }
      if (!any) fail("--floor {}: no single candidate fits the budget {:.6g}", f.metric, out.budget);
    }
    out.floor_values.push_back(value);
    floors.push_back({f.metric, &in.predicted[k], value});
  }
  std::vector<char> allowed = in.allowed;
  const ConstrainedRouting c = route_with_floors(objective, pay, allowed, floors, budget, req.lambda.value_or(0.0));
  out.routing = c.routing;
  out.multipliers = c.multipliers;
  for (std::size_t k = 0; k < nm; ++k) {
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) s += in.predicted[k](i, out.routing.choice[i]);
    out.predicted_means.push_back(n ? s / n : 0.0);
  }
  out.mode = fmt::format("objective {}", req.objective.label);
  if (req.lambda)
    out.mode += fmt::format(", lambda {}", *req.lambda);
  else
    out.mode += fmt::format(", budget {:.4g}{}, lambda {:.6g}", out.budget,
                            req.budget ? "" : " (the best single's cost)", out.routing.lambda);
  for (std::size_t j = 0; j < floors.size(); ++j)
    out.mode +=
        fmt::format(", floor {} {:.4g} (multiplier {:.4g})", floors[j].name, floors[j].floor, out.multipliers[j]);
  return out;
}

}  // namespace catimage
