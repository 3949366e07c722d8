#pragma once
// The UNet's mid block, diffusers' UNetMidBlock2DCrossAttn: a resnet, then num_layers times
// a Transformer2DModel and a resnet.
#include <torch/torch.h>

#include "catimage/diffusion/models/block_2d_layers.hpp"

namespace catimage {

struct UNetMidBlock2DCrossAttnOptions : Block2DOptions, CrossAttentionOptions {};

struct UNetMidBlock2DCrossAttnImpl : Block2DLayers {
  explicit UNetMidBlock2DCrossAttnImpl(const UNetMidBlock2DCrossAttnOptions& o);
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& temb, const torch::Tensor& context);
};
TORCH_MODULE(UNetMidBlock2DCrossAttn);

}  // namespace catimage
