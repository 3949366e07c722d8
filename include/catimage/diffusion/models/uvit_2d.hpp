#pragma once
// diffusers' UVit2DModel, aMUSEd's masked-token transformer: token ids (B, H, W) -> logits
// over the VQ codebook (B, codebook_size, H, W), conditioned on the text encoder's
// penultimate states (encoder_proj + RMS norm), its pooled projection and five "micro
// conditions" (width, height, crop top, crop left, aesthetic score; sinusoidal embeddings),
// built from the transformer's config.json under the checkpoint's key names.
#include <torch/torch.h>

#include "catimage/diffusion/models/embeddings.hpp"
#include "catimage/diffusion/models/uvit_2d_blocks.hpp"
#include "catimage/io/config_view.hpp"

namespace catimage {

// The config.json keys this runtime reads; the member initialisers are diffusers' defaults.
struct UVit2DConfig {
  std::int64_t hidden_size = 1024;
  bool use_bias = false;
  std::int64_t cond_embed_dim = 768, micro_cond_encode_dim = 256, micro_cond_embed_dim = 1280,
               encoder_hidden_size = 768;
  std::int64_t vocab_size = 8256, codebook_size = 8192;
  std::int64_t in_channels = 768, block_out_channels = 768, num_res_blocks = 3;
  bool downsample = false, upsample = false;
  std::int64_t block_num_heads = 12, num_hidden_layers = 22, num_attention_heads = 16, intermediate_size = 2816;
  double layer_norm_eps = 1e-6;
  bool ln_elementwise_affine = true;
  std::int64_t sample_size = 64;  // tokens per side the model was trained at

  static UVit2DConfig from(const ConfigView& c);
  // How many micro conditions the cond_embed input expects (micro_cond_embed_dim / micro_cond_encode_dim).
  std::int64_t micro_conds() const { return micro_cond_embed_dim / micro_cond_encode_dim; }
};

struct UVit2DModelImpl : torch::nn::Module {
  explicit UVit2DModelImpl(const UVit2DConfig& c);
  // input_ids (B, H, W) int64; encoder_hidden_states (B, L, encoder_hidden_size); pooled_text_emb
  // (B, cond_embed_dim); micro_conds (B, micro_conds()) -> logits (B, codebook_size, H, W).
  torch::Tensor forward(const torch::Tensor& input_ids, torch::Tensor encoder_hidden_states,
                        torch::Tensor pooled_text_emb, const torch::Tensor& micro_conds);

  UVit2DConfig cfg;
  torch::nn::Linear encoder_proj{nullptr}, project_to_hidden{nullptr}, project_from_hidden{nullptr};
  RMSNorm encoder_proj_layer_norm{nullptr}, project_to_hidden_norm{nullptr}, project_from_hidden_norm{nullptr};
  UVit2DConvEmbed embed{nullptr};
  TimestepEmbedding cond_embed{nullptr};
  UVitBlock down_block{nullptr}, up_block{nullptr};
  torch::nn::ModuleList transformer_layers;  // AdaNormTransformerBlock
  ConvMlmLayer mlm_layer{nullptr};
};
TORCH_MODULE(UVit2DModel);

// Builds a UVit2DModel from a component folder (config.json + diffusion_pytorch_model
// safetensors) and loads its weights, in fp32 on the CPU.
UVit2DModel load_uvit_2d(const std::string& dir);

}  // namespace catimage
