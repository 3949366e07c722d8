#pragma once
// How much a user's own labelled rows should count against a large base table when a predictor
// is trained on both (`catimage adapt`, `cv --adapt`): chosen by cross-validation on the user's
// rows alone. For each weight of a grid and each of K folds of the user's rows, a predictor is
// trained on the base rows plus the other folds' user rows at that weight and measured on the
// held-out fold (transfer_gain.hpp: the gain over the training rows' best single at its cost).
// The weight with the best mean gain over every held-out user row is chosen; unless it beats
// weight 1 by more than one standard error of the paired per-prompt differences, 1 is kept (a
// gain inside the noise is no gain).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "catimage/eval/transfer_gain.hpp"
#include "catimage/io/json_file.hpp"
#include "catimage/io/quality_table.hpp"

namespace catimage {

struct UserWeightChoice {
  std::vector<double> grid;
  std::vector<double> gain;       // per weight: mean gain over every held-out user row
  std::vector<double> paired;     // per weight: mean paired difference to weight 1
  std::vector<double> paired_se;  // its standard error
  double chosen = 1;
  int folds = 0;
  json to_json() const;
};

// Per held-out prompt gains of a predictor trained on `train`, measured on `test`.
using TransferMeasure = std::function<TransferGains(const QualityTable& train, const QualityTable& test)>;

// `grid` must hold 1. With fewer than 2 * folds user rows, the weight stays 1 (nothing to
// choose on; said in the result: folds = 0).
UserWeightChoice choose_user_weight(const QualityTable& base, const QualityTable& user, const std::vector<double>& grid,
                                    int folds, std::uint64_t seed, const TransferMeasure& measure);

// The default grid of weights tried.
const std::vector<double>& default_weight_grid();

}  // namespace catimage
