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
  std::string objective;         // "" = quality
  std::optional<double> margin;  // default: the predictor's calibrated one
};

void add_routing_options(CLI::App* c, RoutingOptions& o);

// The request with the objective parsed, the margin resolved (--margin, else the one the
// predictor records; 0 for a predictions file) and the predictor's training means of `names`
// as the qualities the best single is chosen by.
RoutingRequest routing_request(const RoutingOptions& o, const PredictorSource& source,
                               const std::vector<std::string>& names);

}  // namespace catimage::cli
