#pragma once
// Paper-style evaluation of a router on one quality table (CATImage, RouterBench, RouteLLM).
#include <optional>
#include <string>
#include <vector>

#include "catimage/eval/curve.hpp"
#include "catimage/router/routing_policy.hpp"
#include "catimage/util/matrix.hpp"

namespace catimage {

struct OperatingPoint {
  double quality = 0, cost = 0;
};

struct CurveFigures {
  double max_quality = 0;
  // max mean quality over routings whose mean cost <= the best single candidate's cost
  double quality_at_best_single_cost = 0;
  // lowest mean cost (as a fraction of the best single's cost) of a routing whose mean
  // quality >= the best single's; nullopt if none
  std::optional<double> cost_to_match_best_single;
  // (router - best single) / (oracle - best single) at the best single's cost
  std::optional<double> oracle_gap_captured;
  // area under the non-decreasing convex hull over [cheapest, dearest] single cost,
  // divided by that range (RouterBench)
  double aiq = 0;
  // average performance gap recovered between the cheapest ("weak") and the best ("strong")
  // single candidate, averaged over cost from weak's cost to strong's cost (RouteLLM)
  std::optional<double> apgr;
};

// One routing `route` would run, measured on the table: the true mean quality and cost of
// its choices, against the best single candidate (by true mean quality).
struct RoutedPoint {
  bool defined = false;  // false: no routing of this kind exists (e.g. a budget below every routing)
  double quality = 0;    // mean true quality of the choices
  double cost = 0;       // mean cost
  double predicted = 0;  // mean predicted quality of the choices (unguarded)
  double lambda = 0;
  double departed = 0;  // share of prompts not on route's kept candidate (its best single)
  double fallback = 0;  // share held on it by the guard alone
};

// What `route` runs on these prompts with this request (the same RoutingPolicy, margin,
// default budget and objective): the requested routing and both objectives' routings.
struct RouteFigures {
  std::string mode;  // as route's summary prints it
  std::string keep;  // route's kept candidate: the best single by mean predicted quality
  double margin = 0;
  RoutedPoint requested;      // the request as given (default: the quality objective)
  RoutedPoint equal_cost;     // --objective quality: the best predicted quality at the kept candidate's cost
  RoutedPoint equal_quality;  // --objective savings: the least cost at its predicted quality
};

// A further router on the same prompts whose options carry their own costs and realised
// qualities (a cascade: keep the first image or pay for another), judged against the same
// single candidates and oracle.
struct ExtraRouter {
  std::string name;
  std::vector<CurvePoint> curve;
  CurveFigures figures;
  // Share of prompts routed away from option `keep` at the best single's cost (a cascade's
  // escalation rate); nullopt when no routing fits that cost.
  std::optional<double> departed_at_best_single_cost;
  RouteFigures route;  // as route runs it (departed: prompts beyond the first option)
};

struct EvalResult {
  std::size_t prompts = 0;
  std::vector<std::string> names;
  std::vector<double> costs;
  std::vector<OperatingPoint> singles;
  int best_single = 0;    // highest mean quality (ties: cheaper)
  int cheapest = 0;       // lowest cost (ties: higher quality)
  OperatingPoint random;  // uniform random routing (expected)
  // The router's curve is that of the routing `route` runs: on the guarded predictions when
  // the request has a margin (every lambda; the quality objective's routing lies on it).
  std::vector<CurvePoint> router_curve, oracle_curve;
  CurveFigures router, oracle;
  RouteFigures route;
  std::vector<ExtraRouter> extra;
};

// `request`: what route is asked (margin, --lambda/--budget/--candidate or the objective,
// --max-cost, --exclude); its default routes without a guard at the default budget.
EvalResult evaluate(const Matrix& truth, const Matrix& predicted, const std::vector<double>& costs,
                    const std::vector<std::string>& names, const RoutingRequest& request = {});

// Measures a routing of route's on the table (departures counted from `keep`).
RoutedPoint measure_routing(const Matrix& truth, const std::vector<double>& costs, const Routing& r, int keep,
                            const GuardMarks* guard = nullptr);

// Adds a router to `r` (an evaluation of the same prompts): option k of prompt i has predicted
// quality predicted(i, k), realised quality realised(i, k) and cost option_costs[k]; `keep` is
// the option counted as not departing (-1: none).
void add_router(EvalResult& r, std::string name, const Matrix& realised, const Matrix& predicted,
                const std::vector<double>& option_costs, int keep = -1);

// Exposed for tests.
double area_under_hull(const std::vector<CurvePoint>& curve, double c_lo, double c_hi);
std::optional<double> apgr(const std::vector<CurvePoint>& curve, OperatingPoint weak, OperatingPoint strong);
CurveFigures curve_figures(const std::vector<CurvePoint>& curve, const EvalResult& base,
                           const std::vector<CurvePoint>* oracle);

}  // namespace catimage
