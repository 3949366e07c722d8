#pragma once
// Sinusoidal timestep embeddings (diffusers' get_timestep_embedding / Timesteps) and the
// TimestepEmbedding MLP (linear_1, SiLU, linear_2).
#include <torch/torch.h>

namespace catimage {

// (N,) timesteps -> (N, dim) float32.
torch::Tensor timestep_embedding(const torch::Tensor& timesteps, std::int64_t dim, bool flip_sin_to_cos,
                                 double downscale_freq_shift, double max_period = 10000.0);

struct TimestepEmbeddingImpl : torch::nn::Module {
  TimestepEmbeddingImpl(std::int64_t in, std::int64_t dim, bool bias = true);  // bias: sample_proj_bias
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear linear_1{nullptr}, linear_2{nullptr};
};
TORCH_MODULE(TimestepEmbedding);

}  // namespace catimage
