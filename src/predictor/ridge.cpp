#include "predictor/ridge.hpp"

#include <cmath>
#include <numeric>

#include "catimage/util/error.hpp"
#include "predictor/tfidf.hpp"

namespace catimage {

double sparse_dot(const SparseRow& r, const float* w) {
  double s = 0;
  for (std::size_t k = 0; k < r.idx.size(); ++k) s += double(r.val[k]) * w[r.idx[k]];
  return s;
}

RidgeFit fit_ridge(const std::vector<SparseRow>& X, std::size_t nf, const std::vector<double>& y, double alpha,
                   const std::vector<double>& weights, int max_iter, double tol) {
  const std::size_t n = X.size();
  if (!weights.empty() && weights.size() != n) fail("ridge: {} weights for {} rows", weights.size(), n);
  auto weight = [&](std::size_t i) { return weights.empty() ? 1.0 : weights[i]; };
  RidgeFit fit;
  double total = 0, sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    total += weight(i);
    sum += weight(i) * y[i];
  }
  fit.intercept = total > 0 ? sum / total : 0.0;
  // A v = X^T W X v + alpha v
  auto apply = [&](const std::vector<double>& v, std::vector<double>& out) {
    out.assign(nf, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
      double xv = 0;
      for (std::size_t k = 0; k < X[i].idx.size(); ++k) xv += X[i].val[k] * v[X[i].idx[k]];
      xv *= weight(i);
      for (std::size_t k = 0; k < X[i].idx.size(); ++k) out[X[i].idx[k]] += X[i].val[k] * xv;
    }
    for (std::size_t j = 0; j < nf; ++j) out[j] += alpha * v[j];
  };
  std::vector<double> b(nf, 0.0), w(nf, 0.0), r, p, Ap;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t k = 0; k < X[i].idx.size(); ++k)
      b[X[i].idx[k]] += X[i].val[k] * weight(i) * (y[i] - fit.intercept);
  r = b;
  p = r;
  double rr = std::inner_product(r.begin(), r.end(), r.begin(), 0.0);
  const double stop = tol * tol * std::max(rr, 1e-300);
  int it = 0;
  for (; it < max_iter && rr > stop; ++it) {
    apply(p, Ap);
    double a = rr / std::inner_product(p.begin(), p.end(), Ap.begin(), 0.0);
    for (std::size_t j = 0; j < nf; ++j) {
      w[j] += a * p[j];
      r[j] -= a * Ap[j];
    }
    double rr2 = std::inner_product(r.begin(), r.end(), r.begin(), 0.0);
    for (std::size_t j = 0; j < nf; ++j) p[j] = r[j] + (rr2 / rr) * p[j];
    rr = rr2;
  }
  fit.iterations = it;
  fit.w.assign(w.begin(), w.end());
  return fit;
}

}  // namespace catimage
