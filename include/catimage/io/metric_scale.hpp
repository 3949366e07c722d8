#pragma once
// A quality metric's spread on the table a predictor was trained on (every prompt x candidate
// cell): what puts several metrics on one scale (router/metric_objective.hpp). Predictors record
// it in their metadata ("metric_scale").
#include "catimage/io/json_file.hpp"
#include "catimage/util/matrix.hpp"

namespace catimage {

struct MetricScale {
  double mean = 0, std = 1, min = 0, max = 1;
};

// From a table's cells (NaN cells skipped); std and max - min at least 1e-12.
MetricScale metric_scale(const Matrix& q);

json metric_scale_json(const MetricScale& s);
// Fails naming `origin` when a field is missing or not finite.
MetricScale metric_scale_from_json(const json& j, const std::string& origin);

}  // namespace catimage
