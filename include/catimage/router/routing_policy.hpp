#pragma once
// How a batch is routed, in one place for `route`, `route --generate` and `eval`: which
// candidates may be chosen (--max-cost), the best single candidate and its tie-breaks, the
// default budget, and the modes (a fixed lambda, an average-cost budget, one forced candidate).
#include <optional>
#include <string>
#include <vector>

#include "catimage/router/guard.hpp"
#include "catimage/router/router.hpp"
#include "catimage/util/matrix.hpp"

namespace catimage {

// Mean of each column (candidate) over the rows (prompts); zeros when there are no rows.
std::vector<double> column_means(const Matrix& q);

// The best single candidate: highest mean quality, ties to the cheaper, then the earlier one.
// `allowed` empty: every candidate. Returns -1 when none is allowed.
int best_single(const std::vector<double>& mean_quality, const std::vector<double>& costs,
                const std::vector<char>& allowed = {});

struct RoutingRequest {
  std::optional<double> lambda;      // argmax q - lambda * cost
  std::optional<double> budget;      // average cost per prompt (solved exactly)
  std::string candidate;             // every prompt to this one
  std::optional<double> max_cost;    // exclude candidates costing more
  std::vector<std::string> exclude;  // never choose these (e.g. those that cannot generate here)
  double margin = 0;                 // the guard's tau (router/guard.hpp); 0: no guard
};

struct RoutingOutcome {
  Routing routing;
  std::string mode;                    // how the routing was chosen, for the summary
  std::vector<char> allowed;           // empty: every candidate
  std::vector<double> mean_predicted;  // per candidate, over the batch
  int best_single = 0;                 // allowed candidate with the best mean predicted quality
  GuardMarks guard;                    // per prompt margin over best_single and whether the guard held it
};

class RoutingPolicy {
 public:
  // `origin` and `cost_unit` only name things in messages.
  RoutingPolicy(std::vector<std::string> names, std::vector<double> costs, std::string cost_unit = "",
                std::string origin = "");

  // Validates the request (exactly one of lambda / budget / candidate, or none: the default
  // budget = the cost of the allowed candidate with the best mean predicted quality).
  RoutingOutcome route(Matrix predicted, const RoutingRequest& request) const;

  // Candidates allowed under max_cost and not excluded (empty vector when every one is);
  // fails when an excluded name is unknown or when nothing is left.
  std::vector<char> allowed(std::optional<double> max_cost, const std::vector<std::string>& exclude = {}) const;

 private:
  std::vector<std::string> names_;
  std::vector<double> costs_;
  std::string unit_, origin_;
};

}  // namespace catimage
