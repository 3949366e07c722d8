#pragma once
// The encoder and decoder of diffusers' AutoencoderKL (DownEncoderBlock2D, UpDecoderBlock2D
// and UNetMidBlock2D with one spatial self-attention), named as diffusers names them.
#include <torch/torch.h>

#include <vector>

#include "catimage/diffusion/models/attention.hpp"
#include "catimage/diffusion/models/resnet.hpp"

namespace catimage {

struct VaeBlockImpl : torch::nn::Module {
  // down: DownEncoderBlock2D (resnets, downsamplers); else UpDecoderBlock2D (resnets, upsamplers).
  VaeBlockImpl(bool down, std::int64_t in, std::int64_t out, std::int64_t num_layers, bool resample, std::int64_t groups);
  torch::Tensor forward(torch::Tensor x);
  torch::nn::ModuleList resnets, samplers;
  std::vector<ResnetBlock2D> res;
  Downsample2D downsampler{nullptr};
  Upsample2D upsampler{nullptr};
};
TORCH_MODULE(VaeBlock);

struct VaeMidBlockImpl : torch::nn::Module {  // UNetMidBlock2D
  VaeMidBlockImpl(std::int64_t channels, std::int64_t groups, bool attention);
  torch::Tensor forward(torch::Tensor x);
  torch::nn::ModuleList resnets, attentions;
  std::vector<ResnetBlock2D> res;
  Attention attn{nullptr};
};
TORCH_MODULE(VaeMidBlock);

struct VaeCoderConfig {
  std::int64_t in_channels = 3, out_channels = 3, latent_channels = 4, layers_per_block = 1, groups = 32;
  std::vector<int> block_out_channels;
  bool mid_attention = true;
};

struct VaeEncoderImpl : torch::nn::Module {
  explicit VaeEncoderImpl(const VaeCoderConfig& c);
  torch::Tensor forward(torch::Tensor x);  // (B, 2*latent, h, w): mean and log-variance
  torch::nn::Conv2d conv_in{nullptr}, conv_out{nullptr};
  torch::nn::ModuleList down_blocks;
  std::vector<VaeBlock> downs;
  VaeMidBlock mid_block{nullptr};
  torch::nn::GroupNorm conv_norm_out{nullptr};
};
TORCH_MODULE(VaeEncoder);

struct VaeDecoderImpl : torch::nn::Module {
  explicit VaeDecoderImpl(const VaeCoderConfig& c);
  torch::Tensor forward(torch::Tensor z);
  torch::nn::Conv2d conv_in{nullptr}, conv_out{nullptr};
  torch::nn::ModuleList up_blocks;
  std::vector<VaeBlock> ups;
  VaeMidBlock mid_block{nullptr};
  torch::nn::GroupNorm conv_norm_out{nullptr};
};
TORCH_MODULE(VaeDecoder);

}  // namespace catimage
