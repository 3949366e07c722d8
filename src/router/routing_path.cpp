#include "catimage/router/routing_path.hpp"

#include <algorithm>
#include <limits>

#include "catimage/util/error.hpp"

namespace catimage {

RoutingPath RoutingPath::build(const double* q, const double* cost, std::size_t m, const std::vector<char>& allowed) {
  auto ok = [&](std::size_t j) { return allowed.empty() || allowed[j]; };
  // Better at lambda = 0: higher quality, then cheaper, then lower index.
  int cur = -1;
  for (std::size_t j = 0; j < m; ++j) {
    if (!ok(j)) continue;
    if (cur < 0 || q[j] > q[cur] || (q[j] == q[cur] && cost[j] < cost[cur])) cur = static_cast<int>(j);
  }
  if (cur < 0) fail("routing: no candidate is allowed");
  RoutingPath p;
  p.steps_.push_back({0.0, cur});
  double at = 0.0;
  for (;;) {
    // The next line to overtake `cur` as lambda grows: a cheaper candidate with the
    // smallest crossing point; among equal crossings the cheapest wins.
    int next = -1;
    double best = std::numeric_limits<double>::infinity();
    for (std::size_t j = 0; j < m; ++j) {
      if (!ok(j) || !(cost[j] < cost[cur])) continue;
      double x = (q[cur] - q[j]) / (cost[cur] - cost[j]);
      if (x < at) x = at;  // rounding guard: the envelope only moves forward
      if (next < 0 || x < best || (x == best && cost[j] < cost[next])) {
        best = x;
        next = static_cast<int>(j);
      }
    }
    if (next < 0) break;
    at = best;
    cur = next;
    if (p.steps_.back().lambda == at)
      p.steps_.back().candidate = cur;  // several at once
    else
      p.steps_.push_back({at, cur});
  }
  return p;
}

int RoutingPath::at(double lambda) const {
  // last step with step.lambda <= lambda
  auto it =
      std::upper_bound(steps_.begin(), steps_.end(), lambda, [](double l, const PathStep& s) { return l < s.lambda; });
  return it == steps_.begin() ? steps_.front().candidate : std::prev(it)->candidate;
}

}  // namespace catimage
