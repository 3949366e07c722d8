#pragma once
// Quality-vs-cost plot (PNG, drawn with cairo): single candidates as labelled points, the
// router's and the oracle's curves, uniform random routing; and quality against steps.
#include <string>

#include "catimage/eval/metrics.hpp"
#include "catimage/eval/step_ladder.hpp"

namespace catimage {

bool plot_available();
// Throws Error if cairo is unavailable or the file cannot be written.
void plot_quality_cost(const EvalResult& r, const std::string& title, const std::string& cost_unit,
                       const std::string& png_path);
// Quality against denoising steps (log axis): each ladder's mean as a solid line, the chosen
// prompts' own curves dashed. Throws Error without a ladder, without cairo, or on write errors.
void plot_quality_steps(const StepLadders& s, const std::string& title, const std::string& png_path);

}  // namespace catimage
