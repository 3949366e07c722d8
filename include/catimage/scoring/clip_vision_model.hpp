#pragma once
// transformers' CLIPVisionModel: the ViT image tower of CLIP (keys vision_model.*), built
// from the "vision_config" of a CLIPModel config.json. Its encoder layers are the text
// encoder's ClipEncoderLayer with bidirectional attention.
#include <torch/torch.h>

#include <string>

#include "catimage/diffusion/models/clip_text_model.hpp"
#include "catimage/io/config_view.hpp"

namespace catimage {

// The config keys this runtime reads; the member initialisers are transformers' CLIPVisionConfig defaults.
struct ClipVisionConfig {
  std::int64_t hidden_size = 768, intermediate_size = 3072, num_hidden_layers = 12, num_attention_heads = 12,
               num_channels = 3, image_size = 224, patch_size = 32, projection_dim = 512;
  std::string hidden_act = "quick_gelu";  // or "gelu"
  double layer_norm_eps = 1e-5;
  static ClipVisionConfig from(const ConfigView& c);

  std::int64_t num_patches() const { return (image_size / patch_size) * (image_size / patch_size); }
  // The same numbers as a ClipTextConfig, which is what ClipEncoderLayer is built from.
  ClipTextConfig encoder_layer_config() const;
};

struct ClipVisionOutput {
  torch::Tensor last_hidden_state;  // (B, num_patches + 1, hidden): encoder output (no final norm)
  torch::Tensor pooled;             // post_layernorm(last_hidden_state[:, 0])
};

struct ClipVisionModelImpl : torch::nn::Module {
  explicit ClipVisionModelImpl(const ClipVisionConfig& c);
  // pixel_values (B, num_channels, image_size, image_size), already normalised.
  ClipVisionOutput forward(const torch::Tensor& pixel_values);
  ClipVisionConfig cfg;
  torch::nn::Conv2d patch_embedding{nullptr};  // no bias, kernel = stride = patch_size
  torch::Tensor class_embedding;               // (hidden)
  torch::nn::Embedding position_embedding{nullptr};
  torch::nn::LayerNorm pre_layrnorm{nullptr};  // sic: transformers' spelling
  torch::nn::ModuleList layers{nullptr};       // vision_model.encoder.layers: ClipEncoderLayer, not causal
  torch::nn::LayerNorm post_layernorm{nullptr};
};
TORCH_MODULE(ClipVisionModel);

}  // namespace catimage
