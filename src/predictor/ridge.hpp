#pragma once
// Ridge regression on sparse rows, solved by conjugate gradients on
// (X^T W X + alpha I) w = X^T W (y - mean y), W the rows' weights (1 without); the intercept is
// the weighted mean of y (the features are not centred, as before weights).
#include <cstddef>
#include <vector>

namespace catimage {

struct SparseRow;  // tfidf.hpp

struct RidgeFit {
  std::vector<float> w;  // n_features
  double intercept = 0;
  int iterations = 0;
};

// `weights`: one per row, > 0 (empty: every row 1).
RidgeFit fit_ridge(const std::vector<SparseRow>& X, std::size_t n_features, const std::vector<double>& y, double alpha,
                   const std::vector<double>& weights = {}, int max_iter = 500, double tol = 1e-6);

double sparse_dot(const SparseRow& r, const float* w);

}  // namespace catimage
