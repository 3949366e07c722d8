#pragma once
// A cascade that learns as it runs (`route --generate --cascade --learn`, and its offline
// simulation in `cv --adapt`). The batch's first images are all generated and scored first;
// then the prompts are decided in blocks of K, in batch order:
//   - before block b the differences predictor is refitted on the base rows plus every
//     difference the run has observed in blocks < b (an escalation's second score minus its
//     first), and every prompt still undecided is predicted again;
//   - the undecided prompts are routed again with the budget that is left, so the batch's total
//     cost still meets the budget exactly (each re-solve is feasible: the previous routing of
//     the same prompts fits what is left); only block b's decisions are kept;
//   - with exploration eps, a seeded share of prompts (drawn from the seed and the prompt's id,
//     so a resumed or sharded run draws the same) escalates to a candidate drawn uniformly from
//     the allowed ones other than FIRST. Those prompts' costs are reserved from the budget from
//     the start. Every decision records its propensity, the probability that this policy takes
//     that option for that prompt (eps / |A| for a drawn candidate, plus 1 - eps where the router
//     at the block's lambda chooses it), and the refits weight an observed difference by
//     1 / propensity (inverse-propensity weighting), so that what they learn about a candidate is
//     not only what the router already believed about it.
// Deterministic: the same inputs (scores, ids, options) give the same decisions, whatever was
// decided before a kill, and block b only depends on blocks < b. The refits are injected (the
// predictor layer trains them), so this file knows nothing of features or ridge.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "catimage/router/cascade.hpp"
#include "catimage/router/routing_policy.hpp"
#include "catimage/util/matrix.hpp"

namespace catimage {

struct LearningOptions {
  int every = 100;         // K: prompts per block; the predictor is refitted after each block
  double explore = 0;      // eps in [0, 1)
  std::uint64_t seed = 0;  // of the exploration draws
  double run_weight = 1;   // an observed difference's weight, before 1 / propensity (base rows weigh 1)
  double max_ipw = 1e300;  // cap on 1 / propensity (no cap by default)
};

// One observed difference of the run: prompt `prompt` escalated to `candidate`, whose score
// minus FIRST's was `difference`; `weight` = run_weight * min(1 / propensity, max_ipw).
struct RunLabel {
  std::size_t prompt = 0;
  int candidate = 0;
  double difference = 0;
  double weight = 1;
};

struct CascadeDecision {
  int candidate = 0;  // the option: FIRST (keep its image) or the candidate escalated to
  bool explored = false;
  double propensity = 1;
  int router_choice = 0;  // what the router alone chose at the block's lambda
  int block = 0;
  double lambda = 0;              // of the block's routing
  std::vector<double> predicted;  // each option's predicted quality for this prompt, as the block saw it
};

// Predicted differences d(i, m) = q_m - q_first (columns in candidate order; FIRST's ignored)
// for the prompts `which`, by a predictor refitted on the base rows and `labels` (none: the
// initial predictor).
using DifferenceRefit =
    std::function<Matrix(const std::vector<RunLabel>& labels, const std::vector<std::size_t>& which)>;

struct LearningBatch {
  std::vector<std::string> ids;   // exploration is drawn from these
  std::vector<double> observed;   // FIRST's score of every prompt
  std::vector<double> costs;      // the candidates' own costs
  CascadeOptions cascade;         // FIRST, scoring cost, keep-best, second scoring
  std::vector<double> error_std;  // keep-best's spreads, per candidate
};

class CascadeLearner {
 public:
  // `request`: --lambda, --budget (average per prompt) or the default objective quality (the
  // budget is then the cost of the candidate with the best mean predicted option quality under
  // the initial predictor, as the static cascade's); --objective savings and --candidate are
  // refused, as is a budget below FIRST plus scoring for every prompt and the reserved
  // explorations. Fails naming the option.
  CascadeLearner(LearningBatch batch, RoutingRequest request, LearningOptions options, DifferenceRefit refit,
                 std::vector<std::string> names, std::string cost_unit = "");

  std::size_t blocks() const;
  std::size_t block_begin(std::size_t b) const;
  std::size_t block_end(std::size_t b) const;

  // The decisions of block b's prompts, given every decision of blocks < b (`before`, one per
  // prompt of those blocks, in order) and the second score of each escalated prompt among them
  // (`second`, indexed by prompt; nullopt elsewhere). Fails when an escalated prompt of an
  // earlier block has no second score.
  std::vector<CascadeDecision> plan_block(std::size_t b, const std::vector<CascadeDecision>& before,
                                          const std::vector<std::optional<double>>& second) const;

  // The labels blocks < b teach (what plan_block(b) refits on).
  std::vector<RunLabel> labels(const std::vector<CascadeDecision>& before,
                               const std::vector<std::optional<double>>& second) const;

  const std::vector<double>& option_costs() const { return option_costs_; }
  double total_budget() const { return total_budget_; }  // infinity with --lambda
  bool explores(std::size_t prompt) const { return drawn_[prompt] >= 0; }
  int drawn_candidate(std::size_t prompt) const { return drawn_[prompt]; }  // -1: not explored
  // Predicted option qualities of prompts `which` from differences d (|which| x M).
  Matrix option_predictions(const std::vector<std::size_t>& which, const Matrix& d) const;

 private:
  LearningBatch b_;
  RoutingRequest request_;
  LearningOptions o_;
  DifferenceRefit refit_;
  std::vector<std::string> names_;
  std::string unit_;
  std::vector<double> option_costs_;
  std::vector<char> allowed_;
  std::vector<int> drawn_;  // per prompt: the explored candidate, -1
  double reserved_ = 0;     // the explored prompts' costs
  double total_budget_ = 0;
};

}  // namespace catimage
