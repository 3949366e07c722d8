#pragma once
// The validation scorer catimage's trainers select with: the AIQ of the router's quality-cost
// curve on the validation table (eval/metrics.hpp), with the paper-style figures as summary.
#include "catimage/predictor/validation.hpp"

namespace catimage {

ValidationScorer router_aiq_scorer();

}  // namespace catimage
