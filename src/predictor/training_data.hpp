#pragma once
// Training targets from a quality table: per prompt, the level (mean quality over the
// candidates) and the deviations from it, standardised with training statistics.
#include <string>
#include <vector>

#include "catimage/eval/metrics.hpp"
#include "catimage/io/quality_table.hpp"
#include "catimage/predictor/predictor.hpp"

namespace catimage {

struct TrainingSet {
  std::vector<std::string> prompts;
  Matrix truth;    // qualities, prompts x M
  Matrix targets;  // standardised deviations (M) then level: prompts x (M+1)
};

TargetStats compute_target_stats(const QualityTable& t);
TrainingSet make_training_set(const QualityTable& t, const TargetStats& s);

// What early stopping and model selection maximise: AIQ of the router on a table, plus the
// full evaluation for reporting.
struct ValidationScore {
  double score = 0;
  EvalResult eval;
};
ValidationScore validation_score(const Predictor& p, const TrainingSet& val, const std::vector<double>& costs);
ValidationScore validation_score(const Matrix& predicted, const TrainingSet& val, const std::vector<double>& costs,
                                 const std::vector<std::string>& names);

json eval_summary(const EvalResult& r);

}  // namespace catimage
