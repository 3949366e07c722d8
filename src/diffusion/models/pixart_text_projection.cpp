#include "catimage/diffusion/models/pixart_text_projection.hpp"

namespace catimage {

PixArtAlphaTextProjectionImpl::PixArtAlphaTextProjectionImpl(std::int64_t in_features, std::int64_t hidden_size) {
  linear_1 = register_module("linear_1", torch::nn::Linear(in_features, hidden_size));
  linear_2 = register_module("linear_2", torch::nn::Linear(hidden_size, hidden_size));
}

torch::Tensor PixArtAlphaTextProjectionImpl::forward(const torch::Tensor& caption) {
  return linear_2(torch::gelu(linear_1(caption), "tanh"));
}

}  // namespace catimage
