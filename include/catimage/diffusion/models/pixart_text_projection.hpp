#pragma once
// PixArt's caption projection (diffusers' PixArtAlphaTextProjection): linear_1, GELU with the
// tanh approximation, linear_2, from the text encoder's width to the transformer's.
#include <torch/torch.h>

#include <cstdint>

namespace catimage {

struct PixArtAlphaTextProjectionImpl : torch::nn::Module {
  PixArtAlphaTextProjectionImpl(std::int64_t in_features, std::int64_t hidden_size);
  torch::Tensor forward(const torch::Tensor& caption);
  torch::nn::Linear linear_1{nullptr}, linear_2{nullptr};
};
TORCH_MODULE(PixArtAlphaTextProjection);

}  // namespace catimage
