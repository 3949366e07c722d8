#pragma once
// Matrix <-> libtorch tensor (float32 in the nets, float64 in the Matrix).
#include <torch/torch.h>

#include <cstring>
#include <vector>

#include "catimage/util/matrix.hpp"

namespace catimage {

inline torch::Tensor to_tensor(const Matrix& m) {
  std::vector<float> v(m.data.begin(), m.data.end());
  return torch::from_blob(v.data(), {(long)m.rows, (long)m.cols}, torch::kFloat32).clone();
}

inline Matrix to_matrix(const torch::Tensor& t) {
  auto c = t.to(torch::kFloat64).contiguous();
  Matrix m(c.size(0), c.size(1));
  std::memcpy(m.data.data(), c.data_ptr<double>(), m.data.size() * sizeof(double));
  return m;
}

}  // namespace catimage
