#pragma once
// Offline evaluation of cascade routing on a quality table, exactly: the table holds every
// candidate's quality per prompt, so FIRST's observed score, the escalated image's quality and
// the better of the two are all known. See router/cascade.hpp for how options are priced.
#include <string>
#include <vector>

#include "catimage/eval/metrics.hpp"
#include "catimage/router/cascade.hpp"

namespace catimage {

// The router's name in tables: "cascade (FIRST)" or "cascade + keep-best (FIRST)".
std::string cascade_router_name(const std::string& first, bool keep_best);

// Adds the cascade (o.keep_best picks which) to `r`, an evaluation of the same prompts whose
// true qualities are `truth`; `diff` and `error_std` come from a CascadePredictor given
// truth's FIRST column as the observed scores.
// With `judge`, `r` is an evaluation under that other metric (the same images): the cascade
// routes and keep-best selects on `truth`, and is valued by `judge`.
void add_cascade_router(EvalResult& r, const Matrix& truth, const Matrix& diff, const std::vector<double>& error_std,
                        const CascadeOptions& o, const Matrix* judge = nullptr);

}  // namespace catimage
