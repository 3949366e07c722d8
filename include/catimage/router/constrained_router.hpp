#pragma once
// Routing with floors: maximise the batch mean of an objective (prompts x options) subject to
//   mean cost <= budget (or at a fixed lambda), and
//   for each floor k: mean q_k >= floor_k,
// with one Lagrange multiplier per constraint. For multipliers mu the per-prompt choice is
//   argmax_m  objective_m + sum_k mu_k * q_k,m - lambda * cost_m,
// and lambda is solved exactly for the budget by the Router's sweep (router.hpp), as for a
// plain budget. The multipliers are searched: mu = 0 when the floors already hold; with one
// floor, the smallest mu whose budget-solved routing meets it (doubling, then bisection to a
// relative 1e-9; the batch mean of q_k moves in steps, so the search ends on a step); with
// several, the same search on each violated floor in turn (rounds until every floor holds).
// Of every routing visited that meets all constraints, the one with the highest objective is
// returned. A Lagrangian routing is optimal for the constraints it lands on; against the best
// assignment of all (brute force, tests/test_metric_routing.cpp) it can lose at most what the
// few prompts whose choice straddles a multiplier are worth.
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
