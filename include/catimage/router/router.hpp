#pragma once
// Cost-aware routing (CATImage): for each prompt choose argmax_m q_m - lambda * cost_m.
// Modes: a fixed lambda; a budget on the batch's average cost (the quality-maximising lambda,
// found exactly from the per-prompt breakpoints); one forced candidate. Candidates may be
// excluded (e.g. --max-cost) through `allowed`.
#include <string>
#include <vector>

#include "catimage/router/routing_path.hpp"
#include "catimage/util/matrix.hpp"

namespace catimage {

struct Routing {
  std::vector<int> choice;  // candidate index per prompt
  double lambda = 0;
  double mean_cost = 0;
  double mean_predicted = 0;  // mean of q[i][choice[i]]
};

class Router {
 public:
  explicit Router(std::vector<double> costs, std::vector<char> allowed = {});

  const std::vector<double>& costs() const { return costs_; }
  // Takes the predictions (prompts x candidates) and builds the per-prompt paths once;
  // route/budget/sweep then reuse them.
  void set_predictions(Matrix q);
  const Matrix& predictions() const { return q_; }
  Routing route_lambda(double lambda) const;
  // Smallest lambda whose routing has mean cost <= budget: since predicted quality only falls
  // as lambda grows, that is the best lambda-routing within budget. Throws Error when even
  // the cheapest routing exceeds the budget.
  Routing route_budget(double budget) const;
  Routing route_forced(int candidate) const;
  // Mean cost of the cheapest routing (every prompt at the end of its path); 0 without prompts.
  double min_mean_cost() const;
  // The cheapest lambda-routing whose mean predicted quality is >= target (ties: the higher
  // quality, then the smaller lambda). Predicted quality only falls as lambda grows, so that is
  // the routing at the largest lambda that still reaches the target; every distinct routing is
  // visited, exact as the budget solve. Throws Error when not even lambda = 0 reaches it.
  Routing route_min_cost(double target) const;
  const std::vector<RoutingPath>& paths() const { return paths_; }

 private:
  Routing finish(std::vector<int> choice, double lambda) const;
  std::vector<double> costs_;
  std::vector<char> allowed_;
  Matrix q_;
  std::vector<RoutingPath> paths_;
};

}  // namespace catimage
