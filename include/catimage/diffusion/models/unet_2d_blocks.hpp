#pragma once
// The UNet's blocks, named as diffusers names them: CrossAttnDownBlock2D / DownBlock2D
// (resnets, attentions, downsamplers), UNetMidBlock2DCrossAttn, CrossAttnUpBlock2D /
// UpBlock2D (resnets over concatenated skips, attentions, upsamplers). A block without
// attention is the same class with no attentions.
#include <torch/torch.h>

#include <vector>

#include "catimage/diffusion/models/resnet.hpp"
#include "catimage/diffusion/models/transformer_2d.hpp"

namespace catimage {

struct AttentionSpec {
  bool enabled = false;
  std::int64_t heads = 1, layers = 1, cross_dim = 0;
  bool linear_projection = false;
};

struct UNetDownBlockImpl : torch::nn::Module {
  UNetDownBlockImpl(std::int64_t in, std::int64_t out, std::int64_t temb, std::int64_t num_layers, bool add_downsample,
                    std::int64_t groups, double eps, const AttentionSpec& attn, std::int64_t downsample_padding);
  // Returns the output; appends every skip state to `skips`.
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& temb, const torch::Tensor& context,
                        std::vector<torch::Tensor>& skips);
  torch::nn::ModuleList resnets, attentions, downsamplers;
  std::vector<ResnetBlock2D> res;
  std::vector<Transformer2DModel> attn;
  Downsample2D down{nullptr};
};
TORCH_MODULE(UNetDownBlock);

struct UNetMidBlockImpl : torch::nn::Module {
  UNetMidBlockImpl(std::int64_t channels, std::int64_t temb, std::int64_t groups, double eps, const AttentionSpec& attn);
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& temb, const torch::Tensor& context);
  torch::nn::ModuleList resnets, attentions;
  std::vector<ResnetBlock2D> res;
  std::vector<Transformer2DModel> attn;
};
TORCH_MODULE(UNetMidBlock);

struct UNetUpBlockImpl : torch::nn::Module {
  UNetUpBlockImpl(std::int64_t in, std::int64_t prev_out, std::int64_t out, std::int64_t temb, std::int64_t num_layers,
                  bool add_upsample, std::int64_t groups, double eps, const AttentionSpec& attn);
  // Consumes its skips from the back of `skips`.
  torch::Tensor forward(torch::Tensor x, std::vector<torch::Tensor>& skips, const torch::Tensor& temb,
                        const torch::Tensor& context, const std::vector<std::int64_t>& upsample_size);
  torch::nn::ModuleList resnets, attentions, upsamplers;
  std::vector<ResnetBlock2D> res;
  std::vector<Transformer2DModel> attn;
  Upsample2D up{nullptr};
};
TORCH_MODULE(UNetUpBlock);

}  // namespace catimage
