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

// What a routing without --lambda / --budget / --candidate aims for, beside the best single
// candidate (the one with the best mean predicted quality, the prompt-blind choice):
// - quality: the best predicted mean quality at its cost (budget = its cost);
// - savings: the least mean cost at which the predicted mean quality is at least its
//   predicted mean quality (the same quality for less compute).
enum class Objective { quality, savings };
// "quality" / "savings"; parse_objective fails naming the option for anything else.
const char* objective_name(Objective o);
Objective parse_objective(const std::string& s);

struct RoutingRequest {
  std::optional<double> lambda;              // argmax q - lambda * cost
  std::optional<double> budget;              // average cost per prompt (solved exactly)
  std::string candidate;                     // every prompt to this one
  Objective objective = Objective::quality;  // the default mode (none of the three above)
  std::optional<double> max_cost;            // exclude candidates costing more
  std::vector<std::string> exclude;          // never choose these (e.g. those that cannot generate here)
  double margin = 0;                         // the guard's tau (router/guard.hpp); 0: no guard
  // Per candidate, the qualities the best single (the kept candidate, whose cost is the default
  // budget) is chosen by: a predictor's training means, i.e. what a prompt-blind user would
  // run. Empty: the batch's mean predictions (a predictions file has no training data).
  std::vector<double> reference_quality;
};

struct RoutingOutcome {
  Routing routing;                     // the requested one; mean_predicted: unguarded predictions
  std::string mode;                    // how the routing was chosen, for the summary
  std::vector<char> allowed;           // empty: every candidate
  std::vector<double> mean_predicted;  // per candidate, over the batch
  int best_single = 0;                 // the kept candidate: best reference (or mean predicted) quality, allowed
  double margin = 0;                   // the guard's tau as applied (0 for a forced candidate)
  GuardMarks guard;                    // per prompt margin over best_single and whether the guard held it
  // Both objectives, whatever was requested (mean_predicted unguarded, as `routing`):
  // the quality objective's routing (at the best single's cost) and the savings objective's.
  Routing equal_cost, equal_quality;
};

class RoutingPolicy {
 public:
  // `origin` and `cost_unit` only name things in messages.
  RoutingPolicy(std::vector<std::string> names, std::vector<double> costs, std::string cost_unit = "",
                std::string origin = "");

  // Validates the request (at most one of lambda / budget / candidate; none: the objective,
  // by default the budget = the cost of the allowed candidate with the best mean predicted
  // quality) and routes. With a margin, every mode routes on the guarded predictions
  // (router/guard.hpp) with the best single as the kept candidate; the savings objective's
  // quality target is then met by the guarded predictions too, so each departure must pay
  // the margin (see README, "The guard").
  // `option_costs` (default: the candidates' costs) are what each option costs when it is not
  // simply the candidate (a cascade's priced options); the default budget and the best single
  // still follow the candidates' own costs.
  RoutingOutcome route(Matrix predicted, const RoutingRequest& request,
                       const std::vector<double>* option_costs = nullptr) const;

  // The router a request routes with: on the guarded predictions with a margin, over the
  // allowed candidates (for quality-cost curves of exactly what route() runs).
  Router router_for(const Matrix& predicted, const RoutingRequest& request,
                    const std::vector<double>* option_costs = nullptr) const;

  // Candidates allowed under max_cost and not excluded (empty vector when every one is);
  // fails when an excluded name is unknown or when nothing is left.
  std::vector<char> allowed(std::optional<double> max_cost, const std::vector<std::string>& exclude = {}) const;

 private:
  struct Prepared {
    std::vector<char> allowed;
    std::vector<double> mean;
    int keep;
    double margin;
    Router router;
  };
  Prepared prepare(const Matrix& q, const RoutingRequest& request, const std::vector<double>* option_costs) const;
  std::vector<std::string> names_;
  std::vector<double> costs_;
  std::string unit_, origin_;
};

}  // namespace catimage
