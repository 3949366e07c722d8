#include "catimage/router/cascade.hpp"

#include <algorithm>
#include <cmath>

#include "catimage/util/error.hpp"

namespace catimage {

namespace {

void check_first(const CascadeOptions& o, std::size_t m) {
  if (o.first < 0 || static_cast<std::size_t>(o.first) >= m)
    fail("cascade: first candidate index {} out of range (have {})", o.first, m);
  if (!(o.score_cost >= 0) || !std::isfinite(o.score_cost))
    fail("cascade: the scoring cost must be a finite number >= 0 (got {})", o.score_cost);
}

}  // namespace

std::vector<double> cascade_costs(const std::vector<double>& costs, const CascadeOptions& o) {
  check_first(o, costs.size());
  const double base = costs[o.first] + o.score_cost;
  std::vector<double> out(costs.size());
  for (std::size_t m = 0; m < costs.size(); ++m)
    out[m] =
        static_cast<int>(m) == o.first ? base : base + costs[m] + (o.keep_best || o.score_second ? o.score_cost : 0.0);
  return out;
}

double expected_positive_part(double mu, double sigma) {
  if (!(sigma > 0)) return std::max(0.0, mu);
  const double z = mu / sigma;
  const double cdf = 0.5 * std::erfc(-z / std::sqrt(2.0));
  const double pdf = std::exp(-0.5 * z * z) / std::sqrt(2.0 * M_PI);
  return mu * cdf + sigma * pdf;
}

Matrix cascade_predicted(const std::vector<double>& observed, const Matrix& diff, const std::vector<double>& sigma,
                         const CascadeOptions& o) {
  check_first(o, diff.cols);
  if (observed.size() != diff.rows) fail("cascade: {} observed scores for {} prompts", observed.size(), diff.rows);
  if (o.keep_best && sigma.size() != diff.cols)
    fail("cascade: keep-best needs one error spread per candidate ({} for {})", sigma.size(), diff.cols);
  Matrix p(diff.rows, diff.cols);
  for (std::size_t i = 0; i < diff.rows; ++i)
    for (std::size_t m = 0; m < diff.cols; ++m) {
      const bool first = static_cast<int>(m) == o.first;
      const double d = first ? 0.0 : diff(i, m);
      p(i, m) = observed[i] + (first ? 0.0 : o.keep_best ? expected_positive_part(d, sigma[m]) : d);
    }
  return p;
}

Matrix cascade_realised(const Matrix& truth, const CascadeOptions& o, const Matrix* judge) {
  check_first(o, truth.cols);
  if (judge && (judge->rows != truth.rows || judge->cols != truth.cols))
    fail("cascade: the judging metric's table is {}x{}, the selecting one's {}x{}", judge->rows, judge->cols,
         truth.rows, truth.cols);
  const Matrix& value = judge ? *judge : truth;
  Matrix r = value;
  if (o.keep_best)
    for (std::size_t i = 0; i < truth.rows; ++i)
      for (std::size_t m = 0; m < truth.cols; ++m)
        r(i, m) = truth(i, m) > truth(i, o.first) ? value(i, m) : value(i, o.first);
  return r;
}

}  // namespace catimage
