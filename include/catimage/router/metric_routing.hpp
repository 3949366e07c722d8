#pragma once
// Routing on several metrics at once (README, "Several metrics"): one call for `route`,
// `route --generate --cascade`, `eval` and `cv`, so that what is measured is what runs.
//
// Each metric's predictor predicts every option (a candidate, or a cascade's priced option);
// the objective (router/metric_objective.hpp) combines them; the budget is the request's, or
// by default the cost of the best single candidate (the highest objective among the
// candidates' reference means: the predictors' training means, else the batch's predicted
// means); each floor is the request's value or the best affordable single candidate's
// predicted batch mean of that metric; the routing maximises the objective within the budget
// and the floors (router/constrained_router.hpp), or at a fixed lambda.
#include <optional>
#include <string>
#include <vector>

#include "catimage/router/constrained_router.hpp"
#include "catimage/router/metric_objective.hpp"
#include "catimage/util/matrix.hpp"

namespace catimage {

struct MetricRoutingInput {
  std::vector<std::string> metrics;            // the predictors' metrics
  std::vector<Matrix> predicted;               // per metric: prompts x options
  std::vector<MetricScale> scales;             // per metric (the predictors' training tables)
  std::vector<std::vector<double>> reference;  // per metric: per candidate training mean (empty: batch means)
  std::vector<double> costs;                   // each candidate's own cost
  std::vector<double> option_costs;            // each option's cost (a cascade's priced options); empty: costs
  std::vector<char> allowed;                   // empty: every candidate
};

struct MetricRoutingRequest {
  MetricObjective objective;
  std::vector<MetricFloor> floors;
  std::optional<double> budget, lambda;  // at most one; neither: the best single's cost
};

struct MetricRouting {
  Routing routing;                      // mean_predicted: the objective's
  int best_single = -1;                 // by the objective's reference means
  double budget = 0;                    // as solved (0 at a fixed lambda)
  std::vector<double> floor_values;     // per request floor
  std::vector<double> multipliers;      // per request floor
  std::vector<double> predicted_means;  // per metric: the routing's predicted batch mean
  std::string mode;                     // for summaries
};

MetricRouting route_metrics(const MetricRoutingInput& in, const MetricRoutingRequest& req);

}  // namespace catimage
