#pragma once
// diffusers' Transformer2DModel for continuous (latent) input: GroupNorm, proj_in (1x1 conv,
// or linear with use_linear_projection), BasicTransformerBlocks, proj_out, residual.
#include <torch/torch.h>

#include "catimage/diffusion/models/attention.hpp"

namespace catimage {

// diffusers' Transformer2DModel arguments (in_channels = heads x head dim, as the UNet builds it).
struct Transformer2DModelOptions {
  std::int64_t num_attention_heads = 16, attention_head_dim = 88;
  std::int64_t in_channels = 0, num_layers = 1;
  std::int64_t cross_attention_dim = 0;
  std::int64_t norm_num_groups = 32;
  bool use_linear_projection = false;
};

struct Transformer2DModelImpl : torch::nn::Module {
  explicit Transformer2DModelImpl(const Transformer2DModelOptions& o);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context);

  bool linear;
  torch::nn::GroupNorm norm{nullptr};
  torch::nn::Conv2d proj_in_conv{nullptr}, proj_out_conv{nullptr};      // without use_linear_projection
  torch::nn::Linear proj_in_linear{nullptr}, proj_out_linear{nullptr};  // with use_linear_projection
  torch::nn::ModuleList transformer_blocks;
};
TORCH_MODULE(Transformer2DModel);

}  // namespace catimage
