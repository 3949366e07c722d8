#pragma once
// Ridge regression on sparse rows, solved by conjugate gradients on
// (X^T X + alpha I) w = X^T (y - mean y); the intercept is the mean of y.
#include <cstddef>
#include <vector>

namespace catimage {

struct SparseRow;  // tfidf.hpp

struct RidgeFit {
  std::vector<float> w;  // n_features
  double intercept = 0;
  int iterations = 0;
};

RidgeFit fit_ridge(const std::vector<SparseRow>& X, std::size_t n_features, const std::vector<double>& y, double alpha,
                   int max_iter = 500, double tol = 1e-6);

double sparse_dot(const SparseRow& r, const float* w);

}  // namespace catimage
