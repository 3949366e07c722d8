#pragma once
// A predictor trained on one table, measured on the prompts of another (held-out rows of the
// user's distribution): per held-out prompt, the true quality of what the router chooses minus
// that of the training rows' best single candidate (the one a prompt-blind user of the training
// data would run: best weighted mean quality, ties to the cheaper), routed at that candidate's
// cost. The pieces `cv --adapt` and `adapt`'s choice of the user rows' weight are made of.
#include <cstdint>
#include <string>
#include <vector>

#include "catimage/io/quality_table.hpp"

namespace catimage {

class FeatureSpace;

struct TransferGains {
  std::string best_single;   // of the training rows
  std::vector<double> gain;  // per held-out prompt
  std::vector<int> choice;   // per held-out prompt: the option routed to
  double mean() const;
};

// With `space`, the fits share its vocabulary and features (many fits on the same prompts);
// without, each fits its own, as train_predictor / train_cascade_predictor do.

// The prompt-only router: tfidf-ridge at `alpha` on every training row (weighted), routed with
// the guard `margin` (0: none) as route runs it (RoutingPolicy, default objective quality).
TransferGains prompt_only_gains(const QualityTable& train, const QualityTable& test, double alpha,
                                const std::vector<double>& costs, double margin = 0, std::uint64_t seed = 0,
                                const FeatureSpace* space = nullptr);

// The cascade from `first`: cascade-ridge at `alpha` on every training row (weighted; no
// out-of-fold error estimate: keep-best is off), FIRST's true score observed, the priced
// options routed at the best single's cost (`score_cost` per scored image).
TransferGains cascade_gains(const QualityTable& train, const QualityTable& test, const std::string& first, double alpha,
                            const std::vector<double>& costs, double score_cost = 0,
                            const FeatureSpace* space = nullptr);

}  // namespace catimage
