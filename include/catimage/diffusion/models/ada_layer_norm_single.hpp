#pragma once
// PixArt-α's adaLN-single conditioning (diffusers' AdaLayerNormSingle): the timestep embedding
// (PixArtAlphaCombinedTimestepSizeEmbeddings: 256-channel sinusoidal projection, flipped to
// cos-sin, through timestep_embedder), plus, with the micro-conditions, the embeddings of the
// image resolution (height and width, each through resolution_embedder) and aspect ratio
// (aspect_ratio_embedder), each dim/3 wide; then SiLU and one linear layer to the 6 x dim
// shift/scale/gate values every block adds to its own scale_shift_table.
#include <torch/torch.h>

#include <cstdint>
#include <utility>

#include "catimage/diffusion/models/embeddings.hpp"

namespace catimage {

struct PixArtAlphaCombinedTimestepSizeEmbeddingsImpl : torch::nn::Module {
  PixArtAlphaCombinedTimestepSizeEmbeddingsImpl(std::int64_t dim, bool use_additional_conditions);
  // timestep (B,); resolution (B, 2) as (height, width) and aspect_ratio (B, 1), both needed
  // with the micro-conditions and ignored without. -> (B, dim) in `dtype`.
  torch::Tensor forward(const torch::Tensor& timestep, const torch::Tensor& resolution,
                        const torch::Tensor& aspect_ratio, torch::Dtype dtype);

  bool use_additional_conditions;
  TimestepEmbedding timestep_embedder{nullptr}, resolution_embedder{nullptr}, aspect_ratio_embedder{nullptr};
};
TORCH_MODULE(PixArtAlphaCombinedTimestepSizeEmbeddings);

struct AdaLayerNormSingleImpl : torch::nn::Module {
  AdaLayerNormSingleImpl(std::int64_t dim, bool use_additional_conditions);
  // -> (linear(silu(embedded)) (B, 6 dim), embedded (B, dim)).
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& timestep, const torch::Tensor& resolution,
                                                  const torch::Tensor& aspect_ratio, torch::Dtype dtype);

  PixArtAlphaCombinedTimestepSizeEmbeddings emb{nullptr};
  torch::nn::Linear linear{nullptr};
};
TORCH_MODULE(AdaLayerNormSingle);

}  // namespace catimage
