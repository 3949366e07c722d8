#pragma once
// The config.json of PixArt-α/Σ's transformer: diffusers' PixArtTransformer2DModel, or the
// Transformer2DModel with norm_type "ada_norm_single" and a patch_size that diffusers before
// 0.28 used for it (the Hugging Face folders name that class; the keys are the same). Values
// this runtime does not implement are refused, naming the file and the key.
#include <cstdint>
#include <string>

#include "catimage/io/config_view.hpp"

namespace catimage {

// The member initialisers are PixArtTransformer2DModel's defaults (PixArt-XL-2); a
// "Transformer2DModel" config gets that class's own defaults for the keys it leaves out.
struct PixArtTransformerConfig {
  std::string class_name = "PixArtTransformer2DModel";
  std::int64_t num_attention_heads = 16, attention_head_dim = 72;
  std::int64_t in_channels = 4, out_channels = 8, num_layers = 28;
  std::int64_t cross_attention_dim = 1152;
  std::int64_t sample_size = 128, patch_size = 2;
  std::int64_t caption_channels = 0;  // 0 (null): no caption_projection, the text states go in as they are
  bool attention_bias = true;
  bool norm_elementwise_affine = false;  // of the blocks' norm1/norm2
  double norm_eps = 1e-6;
  double interpolation_scale = 0;  // 0 (null): max(sample_size / 64, 1), as diffusers
  // The resolution and aspect-ratio micro-conditions (PixArt-α 1024-MS). Null or absent:
  // sample_size == 128, as diffusers decides it (0.27 has no key and always decides so).
  bool use_additional_conditions = false;

  static PixArtTransformerConfig from(const ConfigView& c);
  static PixArtTransformerConfig load(const std::string& config_json);
  std::int64_t inner_dim() const { return num_attention_heads * attention_head_dim; }
  double pos_interpolation_scale() const;
  // The width of the text states the model takes: caption_channels, or cross_attention_dim without a projection.
  std::int64_t text_dim() const { return caption_channels > 0 ? caption_channels : cross_attention_dim; }
};

}  // namespace catimage
