#pragma once
// The blocks of AutoencoderKL's encoder and decoder, named as diffusers names them:
// DownEncoderBlock2D (DownBlock2D's modules without a time embedding or skips),
// UpDecoderBlock2D (resnets, upsamplers) and UNetMidBlock2D (resnets around one spatial
// self-attention).
#include <torch/torch.h>

#include "catimage/diffusion/models/attention.hpp"
#include "catimage/diffusion/models/block_2d_layers.hpp"
#include "catimage/diffusion/models/unet_2d_down_blocks.hpp"

namespace catimage {

using DownEncoderBlock2DOptions = DownBlock2DOptions;  // with temb_channels 0

struct DownEncoderBlock2DImpl : UNetDownBlock {
  explicit DownEncoderBlock2DImpl(const DownEncoderBlock2DOptions& o) : UNetDownBlock(o, nullptr) {}
  torch::Tensor forward(const torch::Tensor& x);
};
TORCH_MODULE(DownEncoderBlock2D);

struct UpDecoderBlock2DOptions : Block2DOptions {
  std::int64_t out_channels = 0;
  bool add_upsample = true;
};

struct UpDecoderBlock2DImpl : Block2DLayers {
  explicit UpDecoderBlock2DImpl(const UpDecoderBlock2DOptions& o);
  torch::Tensor forward(torch::Tensor x);
  torch::nn::ModuleList upsamplers{nullptr};
};
TORCH_MODULE(UpDecoderBlock2D);

struct UNetMidBlock2DOptions : Block2DOptions {
  bool add_attention = true;
  std::int64_t attention_head_dim = 0;  // 0: in_channels (one head)
};

struct UNetMidBlock2DImpl : Block2DLayers {
  explicit UNetMidBlock2DImpl(const UNetMidBlock2DOptions& o);
  torch::Tensor forward(torch::Tensor x);
};
TORCH_MODULE(UNetMidBlock2D);

}  // namespace catimage
