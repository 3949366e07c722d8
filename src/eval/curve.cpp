#include "catimage/eval/curve.hpp"

#include <algorithm>

#include "catimage/router/lambda_sweep.hpp"

namespace catimage {

std::vector<CurvePoint> quality_cost_curve(const std::vector<RoutingPath>& paths, const Matrix& truth,
                                           const Matrix& predicted, const std::vector<double>& costs) {
  std::vector<CurvePoint> out;
  const std::size_t n = paths.size();
  if (n == 0) return out;
  auto ev = sweep_events(paths);
  long double c = 0, q = 0, p = 0;
  for (std::size_t i = 0; i < n; ++i) {
    int k = paths[i].steps().front().candidate;
    c += costs[k];
    q += truth(i, k);
    p += predicted(i, k);
  }
  for_each_routing(paths, ev, [&](double lambda, const std::vector<int>&, std::size_t a, std::size_t b) {
    for (std::size_t e = a; e < b; ++e) {
      const auto& s = ev[e];
      c += costs[s.to] - costs[s.from];
      q += truth(s.prompt, s.to) - truth(s.prompt, s.from);
      p += predicted(s.prompt, s.to) - predicted(s.prompt, s.from);
    }
    out.push_back({lambda, static_cast<double>(c / n), static_cast<double>(q / n), static_cast<double>(p / n)});
    return true;
  });
  return out;
}

std::vector<CurvePoint> nondecreasing_hull(std::vector<CurvePoint> pts) {
  std::sort(pts.begin(), pts.end(), [](const CurvePoint& a, const CurvePoint& b) {
    return a.cost < b.cost || (a.cost == b.cost && a.quality > b.quality);
  });
  std::vector<CurvePoint> h;
  for (const auto& p : pts) {
    if (!h.empty() && p.cost == h.back().cost) continue;  // keep the best at equal cost
    // Non-decreasing: a point no better than the last vertex adds nothing.
    if (!h.empty() && p.quality <= h.back().quality) continue;
    while (h.size() >= 2) {
      const auto& a = h[h.size() - 2];
      const auto& b = h.back();
      // drop b if it lies on or below segment a->p
      double cross = (b.cost - a.cost) * (p.quality - a.quality) - (b.quality - a.quality) * (p.cost - a.cost);
      if (cross >= 0)
        h.pop_back();
      else
        break;
    }
    h.push_back(p);
  }
  return h;
}

}  // namespace catimage
