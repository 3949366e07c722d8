#pragma once
// The linear maps of the ridge predictors (tfidf-ridge, the cascade predictor) on disk: a
// weights.safetensors with "ridge.weight" F32 [outputs, features] and "ridge.bias" F32 [outputs].
#include <cstddef>
#include <string>
#include <vector>

namespace catimage {

struct RidgeWeights {
  std::vector<std::vector<float>> w;  // outputs x features
  std::vector<double> b;              // outputs (stored as F32)
};

// Writes `path` atomically, with the metadata {"kind": kind}.
void save_ridge_weights(const std::string& path, const RidgeWeights& r, const std::string& kind);
// Reads `path`, failing (naming the file and tensor) unless both tensors are F32 of exactly
// [outputs, features] and [outputs].
RidgeWeights load_ridge_weights(const std::string& path, std::size_t outputs, std::size_t features);

}  // namespace catimage
