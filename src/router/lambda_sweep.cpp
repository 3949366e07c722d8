#include "catimage/router/lambda_sweep.hpp"

#include <algorithm>

namespace catimage {

std::vector<SwitchEvent> sweep_events(const std::vector<RoutingPath>& paths) {
  std::vector<SwitchEvent> ev;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    const auto& s = paths[i].steps();
    for (std::size_t k = 1; k < s.size(); ++k) ev.push_back({s[k].lambda, i, s[k - 1].candidate, s[k].candidate});
  }
  std::stable_sort(ev.begin(), ev.end(),
                   [](const SwitchEvent& a, const SwitchEvent& b) { return a.lambda < b.lambda; });
  return ev;
}

}  // namespace catimage
