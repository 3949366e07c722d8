#include "cli/routing_options.hpp"

#include "catimage/util/error.hpp"
#include "cli/common.hpp"

namespace catimage::cli {

void add_routing_options(CLI::App* c, RoutingOptions& o) {
  auto* l =
      c->add_option("--lambda", o.request.lambda, "Cost weight λ >= 0 (0: best predicted quality regardless of cost)")
          ->check(at_least(0))
          ->check(kFinite);
  auto* b = c->add_option("--budget", o.request.budget,
                          "Average cost per prompt the batch must not exceed (finds the best λ exactly)")
                ->check(at_least(0))
                ->check(kFinite);
  auto* f = c->add_option("--candidate", o.request.candidate, "Send every prompt to this candidate");
  c->add_option("--objective", o.objective,
                "Without --lambda/--budget/--candidate: quality (default: the best predicted quality at the cost of "
                "the best single candidate) or savings (the least cost at its predicted quality). Or what to "
                "maximise on several metrics (with --lambda/--budget too): METRIC:W[,METRIC:W...] (each metric "
                "standardised by its training spread, e.g. clip:1,nima:1) or mixed (CEMS: min-max scaled, summed)");
  c->add_option("--floor", o.floors,
                "Keep a metric's predicted mean at or above the best affordable single candidate's (METRIC), or a "
                "value (METRIC=V); repeatable")
      ->delimiter(',');
  l->excludes(b)->excludes(f);
  b->excludes(f);
  c->add_option("--max-cost", o.request.max_cost, "Never choose a candidate costing more than this per prompt")
      ->check(at_least(0))
      ->check(kFinite);
  c->add_option("--margin", o.margin,
                "Guard: depart from the best single candidate only for a predicted advantage above this (default: the "
                "predictor's calibrated margin, 0 for --predictions)")
      ->check(at_least(0))
      ->check(kFinite);
  c->add_option("--exclude", o.request.exclude, "Never choose these candidates (NAME[,NAME...])")->delimiter(',');
}

bool on_metrics(const RoutingOptions& o) {
  return !o.floors.empty() || (!o.objective.empty() && o.objective != "quality" && o.objective != "savings");
}

RoutingRequest routing_request(const RoutingOptions& o, const PredictorSource& source,
                               const std::vector<std::string>& names) {
  RoutingRequest r = o.request;
  if (!o.objective.empty() && !on_metrics(o)) {
    r.objective = parse_objective(o.objective);
    if (r.lambda || r.budget || !r.candidate.empty())
      fail("--objective {} is the mode without --lambda/--budget/--candidate: give one or the other", o.objective);
  }
  if (on_metrics(o) && !r.candidate.empty())
    fail("--candidate sends every prompt to one candidate: it takes no --objective on metrics or --floor");
  r.margin = o.margin ? *o.margin : source_margin(source);
  r.reference_quality = source_reference_quality(source, names);
  return r;
}

}  // namespace catimage::cli
