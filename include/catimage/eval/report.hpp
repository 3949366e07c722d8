#pragma once
// Renders an EvalResult: a Markdown table, a CSV of the curves, and the JSON object of
// `catimage eval --json`.
#include <string>

#include "catimage/eval/metrics.hpp"
#include "catimage/io/json_file.hpp"

namespace catimage {

std::string eval_markdown(const EvalResult& r, const std::string& title, const std::string& cost_unit);
std::string eval_curves_csv(const EvalResult& r);
json eval_json(const EvalResult& r);

}  // namespace catimage
