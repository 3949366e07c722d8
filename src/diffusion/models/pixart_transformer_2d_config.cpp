// PixArtTransformerConfig::from: reads a PixArt transformer config.json, refusing what this
// runtime does not implement by key.
#include <algorithm>

#include "catimage/diffusion/models/pixart_transformer_2d_config.hpp"

namespace catimage {

namespace {

// Options of other Transformer2DModel uses and the only value PixArt's transformer has.
const std::vector<std::pair<std::string, json>> kSupportedOnly = {
    {"norm_type", "ada_norm_single"}, {"activation_fn", "gelu-approximate"}, {"num_vector_embeds", nullptr},
    {"only_cross_attention", false},  {"double_self_attention", false},      {"upcast_attention", false},
    {"attention_type", "default"}};

}  // namespace

PixArtTransformerConfig PixArtTransformerConfig::from(const ConfigView& c) {
  PixArtTransformerConfig p;
  p.class_name = c.get_string("_class_name", p.class_name);
  if (p.class_name == "Transformer2DModel") {
    // diffusers 0.27's Transformer2DModel defaults; a PixArt config must set what it needs.
    for (const char* key : {"in_channels", "patch_size", "sample_size"})
      if (!c.has(key)) c.bad(key, "missing (a PixArt transformer has patched input)");
    if (c.get_string("norm_type", "layer_norm") != "ada_norm_single")
      c.bad("norm_type",
            "\"" + c.get_string("norm_type", "layer_norm") +
                "\": only PixArt's \"ada_norm_single\" patch transformer is supported from a Transformer2DModel "
                "folder");
    p.attention_head_dim = 88;
    p.num_layers = 1;
    p.cross_attention_dim = 0;
    p.attention_bias = false;
    p.norm_elementwise_affine = true;
    p.norm_eps = 1e-5;
    if (!c.has("activation_fn"))
      c.bad("activation_fn", "missing (Transformer2DModel's default \"geglu\" is not PixArt's)");
  } else if (p.class_name != "PixArtTransformer2DModel") {
    c.bad("_class_name", "\"" + p.class_name + "\": expected PixArtTransformer2DModel or Transformer2DModel");
  }
  c.require_defaults(kSupportedOnly);
  c.read("num_attention_heads", p.num_attention_heads);
  c.read("attention_head_dim", p.attention_head_dim);
  c.read("in_channels", p.in_channels);
  if (p.class_name == "Transformer2DModel") p.out_channels = p.in_channels;
  c.read("out_channels", p.out_channels);
  c.read("num_layers", p.num_layers);
  c.read("cross_attention_dim", p.cross_attention_dim);
  c.read("sample_size", p.sample_size);
  c.read("patch_size", p.patch_size);
  c.read("caption_channels", p.caption_channels);
  c.read("attention_bias", p.attention_bias);
  c.read("norm_elementwise_affine", p.norm_elementwise_affine);
  c.read("norm_eps", p.norm_eps);
  c.read("interpolation_scale", p.interpolation_scale);
  p.use_additional_conditions = p.sample_size == 128;
  c.read("use_additional_conditions", p.use_additional_conditions);

  auto positive = [&](const char* key, std::int64_t v) {
    if (v <= 0) c.bad(key, "must be positive");
  };
  positive("num_attention_heads", p.num_attention_heads);
  positive("attention_head_dim", p.attention_head_dim);
  positive("in_channels", p.in_channels);
  positive("out_channels", p.out_channels);
  positive("num_layers", p.num_layers);
  positive("sample_size", p.sample_size);
  positive("patch_size", p.patch_size);
  if (c.has("interpolation_scale") && p.interpolation_scale <= 0) c.bad("interpolation_scale", "must be positive");
  if (p.cross_attention_dim <= 0)
    c.bad("cross_attention_dim", "missing: PixArt's blocks cross-attend to the text (attn2)");
  if (p.caption_channels > 0 && p.cross_attention_dim != p.inner_dim())
    c.bad("cross_attention_dim", "must equal num_attention_heads x attention_head_dim (" +
                                     std::to_string(p.inner_dim()) + ") when caption_channels projects the text");
  if (p.inner_dim() % 4 != 0)
    c.bad("attention_head_dim",
          "num_attention_heads x attention_head_dim must be a multiple of 4 (2-D sin-cos "
          "position embedding)");
  if (p.use_additional_conditions && p.inner_dim() % 3 != 0)
    c.bad("use_additional_conditions",
          "the micro-conditions need num_attention_heads x attention_head_dim divisible by 3");
  if (p.sample_size % p.patch_size != 0) c.bad("sample_size", "must be a multiple of patch_size");
  return p;
}

PixArtTransformerConfig PixArtTransformerConfig::load(const std::string& config_json) {
  return from(ConfigView::load(config_json));
}

double PixArtTransformerConfig::pos_interpolation_scale() const {
  if (interpolation_scale > 0) return interpolation_scale;
  return static_cast<double>(std::max<std::int64_t>(sample_size / 64, 1));
}

}  // namespace catimage
