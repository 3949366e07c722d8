#pragma once
// How a trainer judges its candidates on the validation set (early stopping, model selection)
// and what it records of that judgement in predictor.json. The predictor layer does not know
// how routers are evaluated: the caller supplies the scorer (eval/validation_scorer.hpp gives
// the one catimage uses, the AIQ of the router's quality-cost curve).
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "catimage/util/matrix.hpp"

namespace catimage {

struct ValidationScore {
  double score = 0;             // higher is better
  nlohmann::json summary;       // recorded as training.validation in predictor.json
  std::string description;      // one line for the training log
};

// truth and predicted: prompts x candidates; costs and names: per candidate, table order.
using ValidationScorer = std::function<ValidationScore(const Matrix& truth, const Matrix& predicted,
                                                       const std::vector<double>& costs,
                                                       const std::vector<std::string>& names)>;

}  // namespace catimage
