#pragma once
// Training targets from a quality table: per prompt, the level (mean quality over the
// candidates) and the deviations from it, standardised with training statistics.
#include <string>
#include <vector>

#include "catimage/io/quality_table.hpp"
#include "catimage/predictor/predictor.hpp"
#include "catimage/predictor/trainer.hpp"

namespace catimage {

struct TrainingSet {
  std::vector<std::string> prompts;
  Matrix truth;                 // qualities, prompts x M
  Matrix targets;               // standardised deviations (M) then level: prompts x (M+1)
  std::vector<double> weights;  // the rows' training weights (all 1 in an unweighted table)
  std::vector<char> user;       // the rows of the user's own prompts (their domain feature is 1)
};

// Weighted by the rows' weights.
TargetStats compute_target_stats(const QualityTable& t);
TrainingSet make_training_set(const QualityTable& t, const TargetStats& s);

// What every kind's training starts from (kind, candidates, metric, target statistics) and
// what train_predictor records after it (length range, training summary).
PredictorMeta training_meta(const TrainRequest& req, const QualityTable& train_table);
void record_training(Predictor& p, const TrainRequest& req, const QualityTable& train_table,
                     const QualityTable& val_table, const std::vector<std::string>& train_prompts, double secs);

// The request's validation scorer on a validation set (fails when the request has none).
ValidationScore validation_score(const TrainRequest& req, const Predictor& p, const TrainingSet& val);
ValidationScore validation_score(const TrainRequest& req, const Matrix& predicted, const TrainingSet& val,
                                 const std::vector<std::string>& names);

}  // namespace catimage
