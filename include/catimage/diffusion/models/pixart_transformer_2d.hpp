#pragma once
// PixArt-α/Σ's diffusion transformer (diffusers' PixArtTransformer2DModel; before diffusers
// 0.28 the Transformer2DModel with norm_type "ada_norm_single", with the same checkpoint keys):
// pos_embed (PatchEmbed: patch conv + 2-D sin-cos positions), adaln_single (timestep and
// optional resolution/aspect-ratio micro-conditions -> 6 x dim modulation), caption_projection
// (text states -> dim), transformer_blocks.N (PixArtTransformerBlock: self-attention, masked
// cross-attention to the text, GELU-tanh feed-forward), then norm_out modulated by
// scale_shift_table and the embedded timestep, proj_out and unpatchify. With learned sigma
// (out_channels = 2 x in_channels) the output holds the noise prediction and the variance
// channels, as diffusers returns it; the pipeline keeps the first half.
#include <torch/torch.h>

#include "catimage/diffusion/models/ada_layer_norm_single.hpp"
#include "catimage/diffusion/models/patch_embed.hpp"
#include "catimage/diffusion/models/pixart_text_projection.hpp"
#include "catimage/diffusion/models/pixart_transformer_2d_config.hpp"
#include "catimage/diffusion/models/pixart_transformer_block.hpp"

namespace catimage {

// The micro-conditions of PixArt-α 1024-MS: (B, 2) (height, width) in pixels and (B, 1) height / width.
struct PixArtMicroConditions {
  torch::Tensor resolution, aspect_ratio;
};

struct PixArtTransformer2DModelImpl : torch::nn::Module {
  explicit PixArtTransformer2DModelImpl(const PixArtTransformerConfig& cfg);
  // sample (B, in_channels, H, W) latents; timestep (B,) or (1,); context (B, M, text_dim);
  // context_mask (B, M): 1 for tokens, 0 for padding (undefined: every token counts), as
  // diffusers' encoder_attention_mask; micro-conditions when cfg.use_additional_conditions.
  // -> (B, out_channels, H, W) in the model's dtype.
  torch::Tensor forward(const torch::Tensor& sample, const torch::Tensor& timestep, const torch::Tensor& context,
                        const torch::Tensor& context_mask = {}, const PixArtMicroConditions& micro = {});

  PixArtTransformerConfig cfg;
  PatchEmbed pos_embed{nullptr};
  AdaLayerNormSingle adaln_single{nullptr};
  PixArtAlphaTextProjection caption_projection{nullptr};
  torch::nn::ModuleList transformer_blocks;  // PixArtTransformerBlock
  torch::nn::LayerNorm norm_out{nullptr};
  torch::Tensor scale_shift_table;  // (2, dim)
  torch::nn::Linear proj_out{nullptr};
};
TORCH_MODULE(PixArtTransformer2DModel);

// A transformer/ folder: config.json + diffusion_pytorch_model(.fp16).safetensors (or a
// sharded index), loaded in fp32 on the CPU, in eval mode.
PixArtTransformer2DModel load_pixart_transformer(const std::string& dir);

}  // namespace catimage
