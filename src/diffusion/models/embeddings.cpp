#include "catimage/diffusion/models/embeddings.hpp"

#include <cmath>

namespace catimage {

torch::Tensor timestep_embedding(const torch::Tensor& timesteps, std::int64_t dim, bool flip_sin_to_cos,
                                 double downscale_freq_shift, double max_period) {
  const auto half = dim / 2;
  auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(timesteps.device());
  auto exponent = -std::log(max_period) * torch::arange(0, half, opts);
  exponent = exponent / (static_cast<double>(half) - downscale_freq_shift);
  auto emb = timesteps.to(torch::kFloat32).unsqueeze(1) * torch::exp(exponent).unsqueeze(0);
  emb = torch::cat({torch::sin(emb), torch::cos(emb)}, -1);
  if (flip_sin_to_cos) emb = torch::cat({emb.narrow(1, half, half), emb.narrow(1, 0, half)}, -1);
  if (dim % 2 == 1) emb = torch::nn::functional::pad(emb, torch::nn::functional::PadFuncOptions({0, 1}));
  return emb;
}

TimestepEmbeddingImpl::TimestepEmbeddingImpl(std::int64_t in, std::int64_t dim, bool bias) {
  linear_1 = register_module("linear_1", torch::nn::Linear(torch::nn::LinearOptions(in, dim).bias(bias)));
  linear_2 = register_module("linear_2", torch::nn::Linear(torch::nn::LinearOptions(dim, dim).bias(bias)));
}

torch::Tensor TimestepEmbeddingImpl::forward(const torch::Tensor& x) {
  return linear_2(torch::nn::functional::silu(linear_1(x)));
}

}  // namespace catimage
