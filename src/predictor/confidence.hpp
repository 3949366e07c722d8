#pragma once
// Calibrating the confidence (Confidence, predictor.hpp) of a trained predictor.
#include "catimage/predictor/predictor.hpp"

namespace catimage {

struct TrainingSet;
struct TrainRequest;

// Confidence calibrated on validation prompts: shrinkage starts below the `hi_pct`
// percentile of their similarity to the training prompts and is complete at `lo_pct`.
Confidence calibrate_confidence(const Predictor& p, const TrainingSet& val, double lo_pct, double hi_pct);
// The same with the request's percentiles: hyper "confidence_pct" [lo, hi], default [0.01, 0.10].
Confidence calibrate_confidence(const Predictor& p, const TrainingSet& val, const TrainRequest& req);

}  // namespace catimage
