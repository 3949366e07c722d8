#pragma once
// diffusers' UNet2DConditionModel, built from its config.json: the SD1.x, SD2.x and SDXL
// families (CrossAttnDownBlock2D/DownBlock2D, UNetMidBlock2DCrossAttn, CrossAttnUpBlock2D/
// UpBlock2D; linear or conv projections; per-block heads and transformer depth; SDXL's
// "text_time" added embedding). Options outside these families are refused by name.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "catimage/diffusion/models/embeddings.hpp"
#include "catimage/diffusion/models/unet_2d_mid_block.hpp"
#include "catimage/io/config_view.hpp"

namespace catimage {

// The config.json keys this runtime reads; the member initialisers are diffusers' defaults.
struct UNetConfig {
  std::int64_t in_channels = 4, out_channels = 4, sample_size = 64;
  std::vector<std::string> down_block_types, up_block_types;  // required
  std::vector<int> block_out_channels;                        // required
  // Per-block options ("int or one per block"): one value, the default for every block, until read.
  std::vector<int> layers_per_block = {2};
  std::vector<int> num_attention_heads = {8};  // diffusers' attention_head_dim unless num_attention_heads is given
  std::vector<int> transformer_layers_per_block = {1};
  std::vector<int> cross_attention_dims = {1280};         // cross_attention_dim
  std::vector<int> reverse_transformer_layers_per_block;  // up blocks' depth; default: the down blocks' reversed
  std::int64_t norm_num_groups = 32;
  double norm_eps = 1e-5;
  bool flip_sin_to_cos = true;
  double freq_shift = 0;
  std::int64_t downsample_padding = 1;
  bool use_linear_projection = false;
  bool text_time = false;  // addition_embed_type == "text_time" (SDXL)
  std::int64_t addition_time_embed_dim = 0, projection_class_embeddings_input_dim = 0;  // required with text_time

  static UNetConfig from(const ConfigView& c);
  std::int64_t cross_attention_dim() const { return cross_attention_dims.empty() ? 0 : cross_attention_dims[0]; }
};

struct UNet2DConditionModelImpl : torch::nn::Module {
  explicit UNet2DConditionModelImpl(const UNetConfig& cfg);
  // sample (B,C,H,W); timesteps (B,) or (1,); context (B,77,D); for text_time also
  // text_embeds (B,P) and time_ids (B,6).
  torch::Tensor forward(const torch::Tensor& sample, const torch::Tensor& timesteps, const torch::Tensor& context,
                        const torch::Tensor& text_embeds = {}, const torch::Tensor& time_ids = {});

  UNetConfig cfg;
  torch::nn::Conv2d conv_in{nullptr}, conv_out{nullptr};
  TimestepEmbedding time_embedding{nullptr}, add_embedding{nullptr};
  torch::nn::ModuleList down_blocks, up_blocks;  // UNetDownBlock, UNetUpBlock
  UNetMidBlock2DCrossAttn mid_block{nullptr};
  torch::nn::GroupNorm conv_norm_out{nullptr};

 private:
  // The time embedding, plus SDXL's added text/time embedding.
  torch::Tensor embed_time(const torch::Tensor& sample, const torch::Tensor& timesteps,
                           const torch::Tensor& text_embeds, const torch::Tensor& time_ids);
};
TORCH_MODULE(UNet2DConditionModel);

}  // namespace catimage
