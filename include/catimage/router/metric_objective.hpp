#pragma once
// Several quality metrics in one routing (README, "Several metrics"): what a routing maximises
// when the predictors of several metrics (CLIPScore, NIMA, ...) predict every option.
//
// An objective is a weighted sum of the metrics, each on a common scale so that the weights
// mean something:
//   "clip:1,nima:1"  standardised: each metric divided by its standard deviation over the
//                    training table's cells (every prompt x candidate), then weighted;
//   "nima"           one metric (weight 1);
//   "mixed"          CEMS' (CIKM'24) baseline: every metric min-max scaled to [0, 1] by its
//                    training minimum and maximum, summed with equal weights.
// Offsets do not change an argmax over one prompt's options, nor a budget's solution, so the
// combined value is sum_k w_k * q_k / scale_k (plus a constant that is dropped).
//
// A floor keeps a metric's predicted batch mean at or above a value: by default the best
// single candidate's (the highest predicted batch mean of that metric among the candidates
// the budget affords), or a value given as METRIC=VALUE.
#include <optional>
#include <string>
#include <vector>

#include "catimage/io/metric_scale.hpp"
#include "catimage/util/matrix.hpp"

namespace catimage {

enum class MetricScaling { standard, min_max };

struct MetricObjective {
  std::vector<std::string> metrics;  // the metrics weighted, in the order written
  std::vector<double> weights;       // >= 0, at least one > 0
  MetricScaling scaling = MetricScaling::standard;
  std::string label;  // as written ("clip:1,nima:1", "mixed")
};

// Parses an objective over the metrics `available` (the predictors' metrics, in their order).
// "mixed" weighs every available metric. Fails naming `option` for an unknown metric, a
// repeated one, a weight that is not a finite number >= 0, or weights that are all 0.
MetricObjective parse_metric_objective(const std::string& text, const std::vector<std::string>& available,
                                       const std::string& option = "--objective");

// Every metric standardised with weight 1 ("clip:1,nima:1"): the objective when several metrics
// are routed on and none is given.
std::string equal_weights_objective(const std::vector<std::string>& metrics);

// sum_k w_k * q_k / s_k with s_k the metric's std (standard) or max - min (min_max). `q` and
// `scales` are indexed like `available` (the list the objective was parsed against).
Matrix combine_metrics(const MetricObjective& o, const std::vector<std::string>& available,
                       const std::vector<const Matrix*>& q, const std::vector<MetricScale>& scales);

struct MetricFloor {
  std::string metric;
  std::optional<double> value;  // none: the best affordable single candidate's predicted mean
};

// "nima" or "nima=5.6"; fails naming `option` for an unknown metric or a repeated one.
std::vector<MetricFloor> parse_metric_floors(const std::vector<std::string>& items,
                                             const std::vector<std::string>& available,
                                             const std::string& option = "--floor");

}  // namespace catimage
