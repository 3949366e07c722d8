#pragma once
// transformers' CLIPTextModel and CLIPTextModelWithProjection (keys text_model.* and
// text_projection.weight), built from the text encoder's config.json.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "catimage/io/config_view.hpp"

namespace catimage {

// The config.json keys this runtime reads; the member initialisers are transformers' CLIPTextConfig defaults.
struct ClipTextConfig {
  std::int64_t vocab_size = 49408, hidden_size = 512, intermediate_size = 2048, num_hidden_layers = 12,
               num_attention_heads = 8, max_position_embeddings = 77, projection_dim = 512;
  std::string hidden_act = "quick_gelu";  // or "gelu"
  double layer_norm_eps = 1e-5;
  std::int64_t eos_token_id = 2;
  bool with_projection = false;  // architectures[0] == "CLIPTextModelWithProjection"
  static ClipTextConfig from(const ConfigView& c);
};

struct ClipTextOutput {
  torch::Tensor last_hidden_state;  // after final_layer_norm
  torch::Tensor penultimate;        // hidden_states[-2]: input of the last layer
  torch::Tensor pooled;             // last_hidden_state at the end token
  torch::Tensor text_embeds;        // text_projection(pooled), with projection only
};

struct ClipEncoderLayerImpl : torch::nn::Module {
  ClipEncoderLayerImpl(const ClipTextConfig& c);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr}, fc1{nullptr}, fc2{nullptr};
  torch::nn::LayerNorm layer_norm1{nullptr}, layer_norm2{nullptr};
  std::int64_t heads;
  bool quick_gelu;
  bool causal = true;  // the text encoder's masked attention; false for CLIP's vision tower
};
TORCH_MODULE(ClipEncoderLayer);

struct ClipTextModelImpl : torch::nn::Module {
  explicit ClipTextModelImpl(const ClipTextConfig& c);
  // ids (B, L) int64
  ClipTextOutput forward(const torch::Tensor& ids);
  ClipTextConfig cfg;
  torch::nn::Embedding token_embedding{nullptr}, position_embedding{nullptr};
  torch::nn::ModuleList layers{nullptr};  // text_model.encoder.layers: ClipEncoderLayer
  torch::nn::LayerNorm final_layer_norm{nullptr};
  torch::nn::Linear text_projection{nullptr};
};
TORCH_MODULE(ClipTextModel);

}  // namespace catimage
