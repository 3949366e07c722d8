#pragma once
// The cascade that learns as it runs (router/cascade_learning.hpp) with cascade-ridge refits,
// and its exact offline simulation on a quality table: the table holds every candidate's
// quality of every prompt, so a run is replayed revealing only what it would have generated
// (FIRST's score of every prompt; the escalated candidate's score of an escalated prompt).
#include <memory>
#include <string>
#include <vector>

#include "catimage/io/quality_table.hpp"
#include "catimage/predictor/cascade_predictor.hpp"
#include "catimage/router/cascade_learning.hpp"

namespace catimage {

// The refits by cascade-ridge, columns in `names` order: the initial predictor's predictions
// until the run has labels, then the refitter's on the base rows plus the labelled run rows
// (prompts[label.prompt], observed[label.prompt], the label's difference and weight).
// `refitter` may be null while no labels come (the initial predictor's predictions only).
DifferenceRefit cascade_ridge_refit(std::shared_ptr<const CascadePredictor> initial,
                                    std::shared_ptr<const CascadeRefitter> refitter, std::vector<std::string> prompts,
                                    std::vector<double> observed, std::vector<std::string> names);

struct LearningSimulation {
  std::vector<CascadeDecision> decisions;  // per prompt of the simulated batch
  std::vector<double> realised;            // per prompt: the true quality of the kept image
  std::vector<double> cost;                // per prompt: what its option cost
  double total_budget = 0;
};

// Replays the learner over `batch` (its rows in order; truth in the learner's candidate order).
LearningSimulation simulate_learning(const CascadeLearner& learner, const QualityTable& batch, int first,
                                     bool keep_best);

}  // namespace catimage
