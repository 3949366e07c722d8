#include "catimage/router/guard.hpp"

#include <limits>

#include "catimage/util/error.hpp"

namespace catimage {

Matrix guarded_predictions(const Matrix& q, int keep, double tau) {
  if (keep < 0 || static_cast<std::size_t>(keep) >= q.cols) fail("guard: candidate {} out of range", keep);
  if (!(tau >= 0)) fail("guard: the margin must be >= 0 (got {})", tau);
  Matrix g = q;
  for (std::size_t i = 0; i < q.rows; ++i)
    for (std::size_t k = 0; k < q.cols; ++k)
      if (static_cast<int>(k) != keep) g(i, k) -= tau;
  return g;
}

GuardMarks guard_marks(const Matrix& q, const std::vector<double>& costs, const std::vector<char>& allowed,
                       double lambda, int keep, double tau, const std::vector<int>& choice) {
  if (choice.size() != q.rows || costs.size() != q.cols) fail("guard: shapes differ");
  GuardMarks g;
  g.margin.resize(q.rows);
  g.fallback.resize(q.rows);
  for (std::size_t i = 0; i < q.rows; ++i) {
    double best = -std::numeric_limits<double>::infinity();
    for (std::size_t k = 0; k < q.cols; ++k)
      if (static_cast<int>(k) != keep && (allowed.empty() || allowed[k]))
        best = std::max(best, q(i, k) - lambda * costs[k]);
    g.margin[i] = best - (q(i, keep) - lambda * costs[keep]);
    g.fallback[i] = choice[i] == keep && g.margin[i] > 0 && tau > 0;
  }
  return g;
}

}  // namespace catimage
