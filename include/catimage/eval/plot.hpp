#pragma once
// Quality-vs-cost plot (PNG, drawn with cairo): single candidates as labelled points, the
// router's and the oracle's curves, uniform random routing.
#include <string>

#include "catimage/eval/metrics.hpp"

namespace catimage {

bool plot_available();
// Throws Error if cairo is unavailable or the file cannot be written.
void plot_quality_cost(const EvalResult& r, const std::string& title, const std::string& cost_unit,
                       const std::string& png_path);

}  // namespace catimage
