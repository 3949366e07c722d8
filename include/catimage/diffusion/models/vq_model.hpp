#pragma once
// diffusers' VQModel (the aMUSEd VQ-GAN): the AutoencoderKL encoder and decoder (diffusers'
// Encoder with double_z false, Decoder with norm_type "group"), quant_conv, a VectorQuantizer
// codebook ("quantize.embedding") and post_quant_conv, under the checkpoint's key names.
// aMUSEd decodes token ids: codebook lookup (lookup_from_codebook), post_quant_conv, decoder.
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "catimage/diffusion/models/vae.hpp"
#include "catimage/io/config_view.hpp"

namespace catimage {

// The config.json keys this runtime reads; the member initialisers are diffusers' defaults.
struct VQModelConfig {
  std::int64_t in_channels = 3, out_channels = 3, latent_channels = 3, layers_per_block = 1, norm_num_groups = 32;
  std::vector<int> block_out_channels = {64};
  std::int64_t num_vq_embeddings = 256;
  std::int64_t vq_embed_dim = 0;  // 0 (null): latent_channels
  bool mid_block_add_attention = true, lookup_from_codebook = false, force_upcast = false;
  std::int64_t sample_size = 32;

  static VQModelConfig from(const ConfigView& c);
  std::int64_t embed_dim() const { return vq_embed_dim > 0 ? vq_embed_dim : latent_channels; }
  int spatial_factor() const { return 1 << (block_out_channels.size() - 1); }  // image pixels per token
  AutoencoderKLConfig autoencoder() const;                                     // the encoder's and decoder's settings
};

// The codebook: nearest-entry quantization and lookup by index.
struct VectorQuantizerImpl : torch::nn::Module {
  VectorQuantizerImpl(std::int64_t n_e, std::int64_t dim);
  // z (B, dim, h, w) -> (quantized z (B, dim, h, w), indices (B, h, w)).
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& z);
  // indices (B, h, w) -> (B, dim, h, w): diffusers' get_codebook_entry with shape (B, h, w, dim).
  torch::Tensor get_codebook_entry(const torch::Tensor& indices);
  torch::nn::Embedding embedding{nullptr};
};
TORCH_MODULE(VectorQuantizer);

struct VQModelImpl : torch::nn::Module {
  // Without the encoder (and quant_conv) when only decoding.
  VQModelImpl(const VQModelConfig& c, bool with_encoder);
  torch::Tensor encode(const torch::Tensor& x);           // image -> latents before quantization (B, embed_dim, h, w)
  torch::Tensor decode(const torch::Tensor& quant);       // quantized latents -> image
  torch::Tensor decode_tokens(const torch::Tensor& ids);  // codebook indices (B, h, w) -> image (B, out, H, W)

  VQModelConfig cfg;
  VaeEncoder encoder{nullptr};
  VaeDecoder decoder{nullptr};
  torch::nn::Conv2d quant_conv{nullptr}, post_quant_conv{nullptr};
  VectorQuantizer quantize{nullptr};
};
TORCH_MODULE(VQModel);

// Builds a VQModel from a component folder (config.json + diffusion_pytorch_model safetensors)
// and loads its weights (the encoder's only with_encoder), in fp32 on the CPU.
VQModel load_vq_model(const std::string& dir, bool with_encoder = false);

}  // namespace catimage
