#pragma once
// Routing with floors: maximise the batch mean of an objective (prompts x options) subject to
//   mean cost <= budget (or at a fixed lambda), and
//   for each floor k: mean q_k >= floor_k,
// with one Lagrange multiplier per constraint. For multipliers mu the per-prompt choice is
//   argmax_m  objective_m + sum_k mu_k * q_k,m - lambda * cost_m,
// and lambda is solved exactly for the budget by the Router's sweep (router.hpp), as for a
// plain budget; every routing of that sweep from there on that stays within the budget is a
// candidate too (once mu > 0 a cheaper routing can score higher on the objective). The
// multipliers are searched: mu = 0 when the budget's routing already meets the floors (then it
// is the answer: a floor that holds changes nothing); else each violated floor's multiplier is
// raised to the least that meets it (doubling, then bisection to a relative 1e-9), floor after
// floor in rounds until one routing meets them all; then each multiplier is scanned over six
// decades around its natural unit (objective spread / floor spread) and refined between the
// best grid point's neighbours. Of every routing visited that meets all constraints, the one
// with the highest objective is returned. Against the best assignment of all (brute force,
// tests/test_metric_routing.cpp) a Lagrangian routing can lose what the few prompts whose
// choice straddles a multiplier are worth.
#include <optional>
#include <string>
#include <vector>

#include "catimage/router/router.hpp"
#include "catimage/util/matrix.hpp"

namespace catimage {

struct RoutingFloor {
  std::string name;  // for messages
  const Matrix* q = nullptr;
  double floor = 0;
};

struct ConstrainedRouting {
  Routing routing;                  // mean_predicted: the objective's mean
  std::vector<double> multipliers;  // per floor
  std::vector<double> means;        // per floor: its batch mean under the routing
  std::size_t solves = 0;           // routings visited
};

// `budget` or, without one, the fixed `lambda`. `allowed` empty: every option. Fails naming
// the floor(s) when no multiplier meets them, with the most each reaches.
ConstrainedRouting route_with_floors(const Matrix& objective, const std::vector<double>& costs,
                                     const std::vector<char>& allowed, const std::vector<RoutingFloor>& floors,
                                     std::optional<double> budget, double lambda = 0);

}  // namespace catimage
