#pragma once
// transformers' CLIPModel: text tower (text_model.*), vision tower (vision_model.*), their
// projections into the shared embedding space (text_projection.weight,
// visual_projection.weight) and the learned temperature (logit_scale), loaded from a folder
// with config.json and model.safetensors. The basis of CLIPScore and PickScore.
#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "catimage/diffusion/models/clip_text_model.hpp"
#include "catimage/io/config_view.hpp"
#include "catimage/scoring/clip_vision_model.hpp"

namespace catimage {

// A CLIPModel config.json: text_config, vision_config, projection_dim, logit_scale_init_value
// (transformers' CLIPConfig defaults).
struct ClipModelConfig {
  ClipTextConfig text;  // with_projection, projection_dim = the top-level projection_dim
  ClipVisionConfig vision;
  std::int64_t projection_dim = 512;
  double logit_scale_init_value = 2.6592;
  static ClipModelConfig from(const ConfigView& c);
};

// Normalised embeddings and CLIPModel's logits_per_image = exp(logit_scale) * cos (images x texts).
struct ClipSimilarity {
  torch::Tensor image_embeds;      // (Bi, projection_dim), unit length
  torch::Tensor text_embeds;       // (Bt, projection_dim), unit length
  torch::Tensor logits_per_image;  // (Bi, Bt)
};

struct ClipModelImpl : torch::nn::Module {
  explicit ClipModelImpl(const ClipModelConfig& c);
  // visual_projection(vision pooled output), not normalised: transformers' get_image_features.
  torch::Tensor image_embeds(const torch::Tensor& pixel_values);
  // text_projection(text pooled output), not normalised: transformers' get_text_features. ids (B, L) int64.
  torch::Tensor text_embeds(const torch::Tensor& ids);
  // Both towers, normalised, and the scaled cosine logits (what CLIPModel.forward returns).
  ClipSimilarity forward(const torch::Tensor& pixel_values, const torch::Tensor& ids);
  // L2-normalises the last dimension (CLIPModel's embeds / embeds.norm(dim=-1)).
  static torch::Tensor normalise(const torch::Tensor& embeds);

  ClipModelConfig cfg;
  // The towers share their submodules with this module: its keys are text_model.*,
  // vision_model.*, text_projection.weight (the text tower's projection), visual_projection.weight, logit_scale.
  ClipTextModel text{nullptr};
  ClipVisionModel vision{nullptr};
  torch::nn::Linear text_projection{nullptr}, visual_projection{nullptr};
  torch::Tensor logit_scale;  // scalar: log of the inverse temperature
};
TORCH_MODULE(ClipModel);

// True when `dir`/config.json names the CLIPModel architecture.
bool is_clip_model_folder(const std::string& dir);

// `dir`/config.json and `dir`/model.safetensors (or a sharded model.safetensors.index.json); eval mode, CPU, fp32.
ClipModel load_clip_model(const std::string& dir);

// Seeded random weights for a CLIPModel folder (config.json only): writes `dir`/model.safetensors
// and returns it, or "" when weights are already there and not `force`. For tiny test models.
std::string write_random_clip_model_weights(const std::string& dir, std::uint64_t seed, bool force = false);

}  // namespace catimage
