#pragma once
// diffusers' Transformer2DModel for continuous (latent) input: GroupNorm, proj_in (1x1 conv,
// or linear with use_linear_projection), BasicTransformerBlocks, proj_out, residual.
#include <torch/torch.h>

#include "catimage/diffusion/models/attention.hpp"

namespace catimage {

struct Transformer2DModelImpl : torch::nn::Module {
  Transformer2DModelImpl(std::int64_t channels, std::int64_t heads, std::int64_t layers, std::int64_t cross_dim,
                         std::int64_t groups, bool linear_projection);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context);

  bool linear;
  torch::nn::GroupNorm norm{nullptr};
  torch::nn::Conv2d proj_in_conv{nullptr}, proj_out_conv{nullptr};
  torch::nn::Linear proj_in_linear{nullptr}, proj_out_linear{nullptr};
  torch::nn::ModuleList transformer_blocks;
  std::vector<BasicTransformerBlock> blocks;
};
TORCH_MODULE(Transformer2DModel);

}  // namespace catimage
