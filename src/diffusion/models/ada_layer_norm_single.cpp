#include "catimage/diffusion/models/ada_layer_norm_single.hpp"

#include "catimage/util/error.hpp"

namespace catimage {

namespace {

constexpr std::int64_t kProjChannels = 256;  // Timesteps(num_channels=256, flip_sin_to_cos=True, shift=0)

torch::Tensor project(const torch::Tensor& values) {
  return timestep_embedding(values.flatten(), kProjChannels, /*flip_sin_to_cos=*/true, /*downscale_freq_shift=*/0);
}

}  // namespace

PixArtAlphaCombinedTimestepSizeEmbeddingsImpl::PixArtAlphaCombinedTimestepSizeEmbeddingsImpl(
    std::int64_t dim, bool use_additional_conditions)
    : use_additional_conditions(use_additional_conditions) {
  timestep_embedder = register_module("timestep_embedder", TimestepEmbedding(kProjChannels, dim));
  if (use_additional_conditions) {
    resolution_embedder = register_module("resolution_embedder", TimestepEmbedding(kProjChannels, dim / 3));
    aspect_ratio_embedder = register_module("aspect_ratio_embedder", TimestepEmbedding(kProjChannels, dim / 3));
  }
}

torch::Tensor PixArtAlphaCombinedTimestepSizeEmbeddingsImpl::forward(const torch::Tensor& timestep,
                                                                     const torch::Tensor& resolution,
                                                                     const torch::Tensor& aspect_ratio,
                                                                     torch::Dtype dtype) {
  auto emb = timestep_embedder(project(timestep).to(dtype));
  if (!use_additional_conditions) return emb;
  if (!resolution.defined() || !aspect_ratio.defined())
    fail("this PixArt transformer needs the resolution and aspect-ratio micro-conditions");
  const auto B = emb.size(0);
  auto res = resolution_embedder(project(resolution).to(dtype)).reshape({B, -1});
  auto ar = aspect_ratio_embedder(project(aspect_ratio).to(dtype)).reshape({B, -1});
  return emb + torch::cat({res, ar}, 1);
}

AdaLayerNormSingleImpl::AdaLayerNormSingleImpl(std::int64_t dim, bool use_additional_conditions) {
  emb = register_module("emb", PixArtAlphaCombinedTimestepSizeEmbeddings(dim, use_additional_conditions));
  linear = register_module("linear", torch::nn::Linear(dim, 6 * dim));
}

std::pair<torch::Tensor, torch::Tensor> AdaLayerNormSingleImpl::forward(const torch::Tensor& timestep,
                                                                        const torch::Tensor& resolution,
                                                                        const torch::Tensor& aspect_ratio,
                                                                        torch::Dtype dtype) {
  auto e = emb(timestep, resolution, aspect_ratio, dtype);
  return {linear(torch::silu(e)), e};
}

}  // namespace catimage
