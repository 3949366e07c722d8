#pragma once
#include <cstddef>
#include <vector>

namespace catimage {

// Dense row-major matrix of doubles: prompts x candidates.
struct Matrix {
  std::size_t rows = 0, cols = 0;
  std::vector<double> data;

  Matrix() = default;
  Matrix(std::size_t r, std::size_t c, double v = 0.0) : rows(r), cols(c), data(r * c, v) {}
  double* row(std::size_t i) { return data.data() + i * cols; }
  const double* row(std::size_t i) const { return data.data() + i * cols; }
  double& operator()(std::size_t i, std::size_t j) { return data[i * cols + j]; }
  double operator()(std::size_t i, std::size_t j) const { return data[i * cols + j]; }
};

}  // namespace catimage
