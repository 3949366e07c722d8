#pragma once
// Quality-cost curve of a router: one point per distinct lambda-routing (exact, from the
// breakpoints, not a grid), scored with the true qualities.
#include <vector>

#include "catimage/router/routing_path.hpp"
#include "catimage/util/matrix.hpp"

namespace catimage {

struct CurvePoint {
  double lambda;
  double cost;       // mean cost of the routing
  double quality;    // mean true quality
  double predicted;  // mean predicted quality of the chosen candidates
};

std::vector<CurvePoint> quality_cost_curve(const std::vector<RoutingPath>& paths, const Matrix& truth,
                                           const Matrix& predicted, const std::vector<double>& costs);

// Upper concave hull of the points made non-decreasing in cost (RouterBench), as vertices
// sorted by cost; after its last vertex the hull stays flat.
std::vector<CurvePoint> nondecreasing_hull(std::vector<CurvePoint> pts);

}  // namespace catimage
