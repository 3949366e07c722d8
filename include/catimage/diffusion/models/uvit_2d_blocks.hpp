#pragma once
// The building blocks of diffusers' UVit2DModel (models/unets/uvit_2d.py and the blocks of
// models/attention.py it uses), under diffusers' names: the token embedding
// (UVit2DConvEmbed), the convolutional stage (UVitBlock: RMS-normed down/upsampling,
// ConvNextBlocks and SkipFFTransformerBlocks), the main transformer layer (BasicTransformerBlock
// with norm_type "ada_norm_continuous") and the output head (ConvMlmLayer).
#include <torch/torch.h>

#include "catimage/diffusion/models/attention.hpp"
#include "catimage/diffusion/models/norm_layers.hpp"

namespace catimage {

// embeddings (token -> in_channels), layer_norm (RMS), conv (1x1 to block_out_channels):
// (B, H, W) int64 ids -> (B, block_out_channels, H, W).
struct UVit2DConvEmbedImpl : torch::nn::Module {
  UVit2DConvEmbedImpl(std::int64_t in_channels, std::int64_t block_out_channels, std::int64_t vocab_size,
                      bool elementwise_affine, double eps, bool bias);
  torch::Tensor forward(const torch::Tensor& input_ids);
  torch::nn::Embedding embeddings{nullptr};
  RMSNorm layer_norm{nullptr};
  torch::nn::Conv2d conv{nullptr};
};
TORCH_MODULE(UVit2DConvEmbed);

// Depthwise 3x3 conv, RMS norm, channel MLP (x4, GELU, GlobalResponseNorm), residual, then a
// scale and shift from the conditioning embedding (cond_embeds_mapper).
struct ConvNextBlockImpl : torch::nn::Module {
  ConvNextBlockImpl(std::int64_t channels, double eps, bool elementwise_affine, bool bias, std::int64_t hidden_size,
                    std::int64_t res_ffn_factor = 4);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cond_embeds);
  torch::nn::Conv2d depthwise{nullptr};
  RMSNorm norm{nullptr};
  torch::nn::Linear channelwise_linear_1{nullptr}, channelwise_linear_2{nullptr}, cond_embeds_mapper{nullptr};
  GlobalResponseNorm channelwise_norm{nullptr};
};
TORCH_MODULE(ConvNextBlock);

// diffusers' SkipFFTransformerBlock: two RMS-normed attentions over the (kv_mapper-projected)
// encoder states, no feed-forward.
struct SkipFFTransformerBlockImpl : torch::nn::Module {
  SkipFFTransformerBlockImpl(std::int64_t dim, std::int64_t heads, std::int64_t head_dim, std::int64_t kv_input_dim,
                             bool kv_input_dim_proj_use_bias, std::int64_t cross_attention_dim, bool attention_bias,
                             bool attention_out_bias);
  torch::Tensor forward(torch::Tensor x, torch::Tensor encoder_hidden_states);
  torch::nn::Linear kv_mapper{nullptr};  // when kv_input_dim != dim
  RMSNorm norm1{nullptr}, norm2{nullptr};
  Attention attn1{nullptr}, attn2{nullptr};
};
TORCH_MODULE(SkipFFTransformerBlock);

// diffusers' Downsample2D(use_conv, kernel_size 2, padding 0, norm_type "rms_norm") and
// Upsample2D(use_conv_transpose, kernel_size 2, padding 0, norm_type "rms_norm"): an RMS norm
// over channels, then a stride-2 conv (after a (0,1,0,1) zero pad) or transposed conv.
struct RMSNormResample2DImpl : torch::nn::Module {
  RMSNormResample2DImpl(std::int64_t channels, bool up, double eps, bool elementwise_affine, bool bias);
  torch::Tensor forward(const torch::Tensor& x);
  RMSNorm norm{nullptr};
  torch::nn::Conv2d conv{nullptr};                     // down
  torch::nn::ConvTranspose2d conv_transpose{nullptr};  // up, registered as "conv"
};
TORCH_MODULE(RMSNormResample2D);

struct UVitBlockOptions {
  std::int64_t channels = 0, num_res_blocks = 1, hidden_size = 0, block_num_heads = 1;
  bool elementwise_affine = true, bias = false, downsample = false, upsample = false;
  double eps = 1e-6;
};

// [downsample] (ConvNextBlock, SkipFFTransformerBlock) x num_res_blocks [upsample].
struct UVitBlockImpl : torch::nn::Module {
  explicit UVitBlockImpl(const UVitBlockOptions& o);
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& pooled_text_emb,
                        const torch::Tensor& encoder_hidden_states);
  RMSNormResample2D downsample{nullptr}, upsample{nullptr};
  torch::nn::ModuleList res_blocks, attention_blocks;
};
TORCH_MODULE(UVitBlock);

// BasicTransformerBlock(norm_type="ada_norm_continuous"), as UVit2DModel builds it: self- and
// cross-attention and a GEGLU feed-forward, each after an AdaLayerNormContinuous on the pooled
// conditioning (RMS norms before the attentions, a layer norm before the feed-forward).
struct AdaNormTransformerBlockOptions {
  std::int64_t dim = 0, num_attention_heads = 1, attention_head_dim = 0, cross_attention_dim = 0;
  std::int64_t conditioning_dim = 0, ff_inner_dim = 0;
  bool attention_bias = false, attention_out_bias = true, ff_bias = true, ada_norm_bias = true;
  bool norm_elementwise_affine = true;
  double norm_eps = 1e-5;
};

struct AdaNormTransformerBlockImpl : torch::nn::Module {
  explicit AdaNormTransformerBlockImpl(const AdaNormTransformerBlockOptions& o);
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& encoder_hidden_states, const torch::Tensor& pooled);
  AdaLayerNormContinuous norm1{nullptr}, norm2{nullptr}, norm3{nullptr};
  Attention attn1{nullptr}, attn2{nullptr};
  FeedForward ff{nullptr};
};
TORCH_MODULE(AdaNormTransformerBlock);

// conv1 (1x1), RMS norm over channels, conv2 (1x1 to codebook_size): the per-token logits.
struct ConvMlmLayerImpl : torch::nn::Module {
  ConvMlmLayerImpl(std::int64_t block_out_channels, std::int64_t in_channels, bool bias, bool elementwise_affine,
                   double eps, std::int64_t codebook_size);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  RMSNorm layer_norm{nullptr};
};
TORCH_MODULE(ConvMlmLayer);

}  // namespace catimage
