#pragma once
// The lambda sweep: every distinct routing that some lambda >= 0 produces, in order of
// increasing lambda, as a list of switch events grouped by lambda. Used to solve budgets
// exactly and to trace quality-cost curves.
#include <cstddef>
#include <vector>

#include "catimage/router/routing_path.hpp"

namespace catimage {

struct SwitchEvent {
  double lambda;
  std::size_t prompt;
  int from, to;
};

// All path breakpoints (lambda > 0), sorted by lambda then prompt.
std::vector<SwitchEvent> sweep_events(const std::vector<RoutingPath>& paths);

// Calls visit(lambda, choice) for lambda = 0 and after each group of equal-lambda events,
// i.e. once per distinct routing. `choice` is updated in place.
// `ev` must be sweep_events(paths).
template <typename Visit>
void for_each_routing(const std::vector<RoutingPath>& paths, const std::vector<SwitchEvent>& ev, Visit&& visit) {
  std::vector<int> choice(paths.size());
  for (std::size_t i = 0; i < paths.size(); ++i) choice[i] = paths[i].steps().front().candidate;
  if (!visit(0.0, choice, std::size_t{0}, std::size_t{0})) return;
  for (std::size_t a = 0; a < ev.size();) {
    std::size_t b = a;
    while (b < ev.size() && ev[b].lambda == ev[a].lambda) {
      choice[ev[b].prompt] = ev[b].to;
      ++b;
    }
    // (lambda, current choice, range [a, b) of events just applied)
    if (!visit(ev[a].lambda, choice, a, b)) return;
    a = b;
  }
}

}  // namespace catimage
