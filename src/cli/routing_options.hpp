#pragma once
// The routing options `route` and `eval` share, so that eval measures exactly what route runs:
// --lambda | --budget | --candidate | --objective, --max-cost, --exclude, --margin.
#include <CLI/CLI.hpp>

#include <optional>
#include <string>

#include "catimage/predictor/quality_source.hpp"
#include "catimage/router/routing_policy.hpp"

namespace catimage::cli {

struct RoutingOptions {
  RoutingRequest request;
  std::string objective;  // "" = quality; quality, savings, or an objective on metrics ("clip:1,nima:1", mixed)
  std::vector<std::string> floors;  // --floor METRIC[=VALUE]
  std::optional<double> margin;     // default: the predictor's calibrated one
};

// Whether --objective names metrics (not quality / savings) or --floor is given: routing on
// several metrics (router/metric_routing.hpp).
bool on_metrics(const RoutingOptions& o);

void add_routing_options(CLI::App* c, RoutingOptions& o);

// The request with the objective parsed (quality / savings; an objective on metrics is left to
// the caller), the margin resolved (--margin, else the one the
// predictor records; 0 for a predictions file) and the predictor's training means of `names`
// as the qualities the best single is chosen by.
RoutingRequest routing_request(const RoutingOptions& o, const PredictorSource& source,
                               const std::vector<std::string>& names);

}  // namespace catimage::cli
