#pragma once
// diffusers' BasicTransformerBlock with norm_type "ada_norm_single" (PixArt-α/Σ): its own
// scale_shift_table (6, dim) plus the adaLN-single values give shift/scale/gate for the
// self-attention and the feed-forward; norm1 and norm2 are LayerNorms (without affine
// parameters in PixArt's configs); attn1 attends to the image tokens, attn2 to the text
// states (no norm before it) with the text padding masked; the feed-forward is diffusers'
// FeedForward with activation_fn "gelu-approximate" (net.0.proj, GELU tanh, net.2).
#include <torch/torch.h>

#include <cstdint>

#include "catimage/diffusion/models/attention.hpp"

namespace catimage {

// FeedForward's GELU(dim_in, dim_out, approximate="tanh"): a linear layer named proj, then GELU.
struct GELUProjImpl : torch::nn::Module {
  GELUProjImpl(std::int64_t dim_in, std::int64_t dim_out);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear proj{nullptr};
};
TORCH_MODULE(GELUProj);

// FeedForward(dim, activation_fn="gelu-approximate"): net.0 = GELUProj, net.1 = Dropout, net.2 = Linear.
struct GELUFeedForwardImpl : torch::nn::Module {
  GELUFeedForwardImpl(std::int64_t dim, std::int64_t mult = 4);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::ModuleList net;
};
TORCH_MODULE(GELUFeedForward);

struct PixArtTransformerBlockOptions {
  std::int64_t dim = 0, num_attention_heads = 1, attention_head_dim = 0;
  std::int64_t cross_attention_dim = 0;
  bool attention_bias = true, norm_elementwise_affine = false;
  double norm_eps = 1e-6;
};

struct PixArtTransformerBlockImpl : torch::nn::Module {
  explicit PixArtTransformerBlockImpl(const PixArtTransformerBlockOptions& o);
  // x (B, N, dim); timestep_mod (B, 6 dim) from AdaLayerNormSingle; context (B, M, cross dim);
  // context_bias: an additive score bias (B, 1, M) (0 keep, -10000 padding) or undefined.
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& timestep_mod, const torch::Tensor& context,
                        const torch::Tensor& context_bias);

  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  Attention attn1{nullptr}, attn2{nullptr};
  GELUFeedForward ff{nullptr};
  torch::Tensor scale_shift_table;  // (6, dim)
};
TORCH_MODULE(PixArtTransformerBlock);

}  // namespace catimage
