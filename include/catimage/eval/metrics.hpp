#pragma once
// Paper-style evaluation of a router on one quality table (CATImage, RouterBench, RouteLLM).
#include <optional>
#include <string>
#include <vector>

#include "catimage/eval/curve.hpp"
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

struct EvalResult {
  std::size_t prompts = 0;
  std::vector<std::string> names;
  std::vector<double> costs;
  std::vector<OperatingPoint> singles;
  int best_single = 0;    // highest mean quality (ties: cheaper)
  int cheapest = 0;       // lowest cost (ties: higher quality)
  OperatingPoint random;  // uniform random routing (expected)
  std::vector<CurvePoint> router_curve, oracle_curve;
  CurveFigures router, oracle;
};

EvalResult evaluate(const Matrix& truth, const Matrix& predicted, const std::vector<double>& costs,
                    const std::vector<std::string>& names);

// Exposed for tests.
double area_under_hull(const std::vector<CurvePoint>& curve, double c_lo, double c_hi);
std::optional<double> apgr(const std::vector<CurvePoint>& curve, OperatingPoint weak, OperatingPoint strong);
CurveFigures curve_figures(const std::vector<CurvePoint>& curve, const EvalResult& base,
                           const std::vector<CurvePoint>* oracle);

}  // namespace catimage
