#include "catimage/eval/cascade_eval.hpp"

namespace catimage {

std::string cascade_router_name(const std::string& first, bool keep_best) {
  return std::string(keep_best ? "cascade + keep-best (" : "cascade (") + first + ")";
}

void add_cascade_router(EvalResult& r, const Matrix& truth, const Matrix& diff, const std::vector<double>& error_std,
                        const CascadeOptions& o, const Matrix* judge) {
  std::vector<double> observed(truth.rows);
  for (std::size_t i = 0; i < truth.rows; ++i) observed[i] = truth(i, o.first);
  add_router(r, cascade_router_name(r.names.at(o.first), o.keep_best), cascade_realised(truth, o, judge),
             cascade_predicted(observed, diff, error_std, o), cascade_costs(r.costs, o), o.first);
}

}  // namespace catimage
