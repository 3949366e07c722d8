#pragma once
// How much a user's own labelled rows should count against a large base table when a predictor
// is trained on both (`catimage adapt`, `cv --adapt`): chosen by cross-validation on the user's
// rows alone. For each weight of a grid and each of K folds of the user's rows, a predictor is
// trained on the base rows plus the other folds' user rows at that weight and measured on the
// held-out fold (transfer_gain.hpp: the gain over the training rows' best single at its cost).
// The weight with the best mean gain over every held-out user row is chosen only when it beats
// the reference weight (default_user_weight(): the one leave-cluster-out CV on the shipped table
// picks) by more than kUserWeightSe standard errors of the paired per-prompt differences;
// otherwise the reference is kept. A few hundred rows measure a routed gain with a standard
// error about as large as the differences between weights, and the best of four noisy means
// beats the reference by one standard error by chance alone: with a 1-SE rule against weight 1,
// `cv --adapt 0,200 --cascade SD-Turbo` on the shipped CLIP table moved away from 1 in 5 of 9
// clusters and lost 0.018 against keeping any fixed weight of 1 or 3.
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
  std::vector<double> paired;     // per weight: mean paired difference to the reference weight
  std::vector<double> paired_se;  // its standard error
  double reference = 1;           // the weight kept unless another beats it
  double chosen = 1;
  int folds = 0;
  json to_json() const;
};

// Per held-out prompt gains of a predictor trained on `train`, measured on `test`.
using TransferMeasure = std::function<TransferGains(const QualityTable& train, const QualityTable& test)>;

// `grid` must hold `reference`. With fewer than 2 * folds user rows, the weight stays the
// reference (nothing to choose on; said in the result: folds = 0).
UserWeightChoice choose_user_weight(const QualityTable& base, const QualityTable& user, const std::vector<double>& grid,
                                    int folds, std::uint64_t seed, const TransferMeasure& measure, double reference);

// Fails unless every weight is a finite number > 0 and the grid holds `reference`.
void check_weight_grid(const std::vector<double>& grid, double reference);

// How many standard errors of the paired differences a weight must beat the reference by.
constexpr double kUserWeightSe = 2.0;

// The reference weight: 3. By leave-cluster-out CV on the shipped CLIP table (`cv --adapt 0,200
// --cascade SD-Turbo`, k = 200, every held-out cluster at one fixed weight): cascade mean/worst
// cluster +0.488/+0.236 at 1, +0.490/+0.309 at 3, +0.470/+0.285 at 10; over 3 clusterings
// (--repeats 3) +0.505/+0.203 at 3.
double default_user_weight();

// The default grid of weights tried.
const std::vector<double>& default_weight_grid();

}  // namespace catimage
