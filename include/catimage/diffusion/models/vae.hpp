#pragma once
// diffusers' AutoencoderKL: its config, its encoder and decoder (diffusers' Encoder and
// Decoder: DownEncoderBlock2D, UNetMidBlock2D, UpDecoderBlock2D) and the module with
// quant_conv/post_quant_conv, under the checkpoint's key names.
#include <torch/torch.h>

#include <vector>

#include "catimage/diffusion/models/vae_blocks.hpp"
#include "catimage/io/config_view.hpp"

namespace catimage {

// The config.json keys this runtime reads; the member initialisers are diffusers' defaults.
struct AutoencoderKLConfig {
  std::int64_t in_channels = 3, out_channels = 3, latent_channels = 4, layers_per_block = 1, norm_num_groups = 32;
  std::vector<int> block_out_channels;  // required
  bool mid_block_add_attention = true, use_quant_conv = true, use_post_quant_conv = true;
  bool force_upcast = true;  // decode in fp32 under fp16 (SDXL's VAE)
  double scaling_factor = 0.18215;
  bool double_z = true;  // not a config key: the encoder's mean and log-variance (false: VQModel's latents)

  static AutoencoderKLConfig from(const ConfigView& c);
  int spatial_factor() const { return 1 << (block_out_channels.size() - 1); }  // image pixels per latent
};

struct VaeEncoderImpl : torch::nn::Module {
  explicit VaeEncoderImpl(const AutoencoderKLConfig& c);
  torch::Tensor forward(torch::Tensor x);  // (B, 2*latent, h, w): mean and log-variance (double_z)
  torch::nn::Conv2d conv_in{nullptr}, conv_out{nullptr};
  torch::nn::ModuleList down_blocks;  // DownEncoderBlock2D
  UNetMidBlock2D mid_block{nullptr};
  torch::nn::GroupNorm conv_norm_out{nullptr};
};
TORCH_MODULE(VaeEncoder);

struct VaeDecoderImpl : torch::nn::Module {
  explicit VaeDecoderImpl(const AutoencoderKLConfig& c);
  torch::Tensor forward(torch::Tensor z);
  torch::nn::Conv2d conv_in{nullptr}, conv_out{nullptr};
  torch::nn::ModuleList up_blocks;  // UpDecoderBlock2D
  UNetMidBlock2D mid_block{nullptr};
  torch::nn::GroupNorm conv_norm_out{nullptr};
};
TORCH_MODULE(VaeDecoder);

struct AutoencoderKLImpl : torch::nn::Module {
  // Without the encoder (and quant_conv) when only decoding.
  AutoencoderKLImpl(const AutoencoderKLConfig& c, bool with_encoder);
  torch::Tensor decode(const torch::Tensor& z);       // unscaled latents -> image
  torch::Tensor encode_mean(const torch::Tensor& x);  // image -> latent mean (unscaled)
  VaeEncoder encoder{nullptr};
  VaeDecoder decoder{nullptr};
  torch::nn::Conv2d quant_conv{nullptr}, post_quant_conv{nullptr};
};
TORCH_MODULE(AutoencoderKL);

}  // namespace catimage
