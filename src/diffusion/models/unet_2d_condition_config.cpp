// UNetConfig::from: reads a UNet2DConditionModel config.json, refusing what this runtime
// does not implement by key.
#include <algorithm>

#include "catimage/diffusion/models/unet_2d_condition.hpp"
#include "catimage/diffusion/models/unet_2d_down_blocks.hpp"
#include "catimage/diffusion/models/unet_2d_up_blocks.hpp"
#include "catimage/util/strings.hpp"

namespace catimage {

namespace {

// Options of other UNet families and the only value this runtime supports: refuse rather
// than silently compute something else.
const std::vector<std::pair<std::string, json>> kSupportedOnly = {{"mid_block_type", "UNetMidBlock2DCrossAttn"},
                                                                  {"act_fn", "silu"},
                                                                  {"center_input_sample", false},
                                                                  {"class_embed_type", nullptr},
                                                                  {"num_class_embeds", nullptr},
                                                                  {"encoder_hid_dim", nullptr},
                                                                  {"encoder_hid_dim_type", nullptr},
                                                                  {"time_embedding_type", "positional"},
                                                                  {"time_embedding_dim", nullptr},
                                                                  {"time_cond_proj_dim", nullptr},
                                                                  {"resnet_time_scale_shift", "default"},
                                                                  {"resnet_skip_time_act", false},
                                                                  {"resnet_out_scale_factor", 1.0},
                                                                  {"conv_in_kernel", 3},
                                                                  {"conv_out_kernel", 3},
                                                                  {"only_cross_attention", false},
                                                                  {"dual_cross_attention", false},
                                                                  {"attention_type", "default"},
                                                                  {"mid_block_only_cross_attention", nullptr},
                                                                  {"class_embeddings_concat", false},
                                                                  {"cross_attention_norm", nullptr},
                                                                  {"addition_embed_type_num_heads", 64},
                                                                  {"mid_block_scale_factor", 1.0},
                                                                  {"time_embedding_act_fn", nullptr},
                                                                  {"timestep_post_act", nullptr}};

void check_block_types(const ConfigView& c, const std::string& key, const std::vector<std::string>& types,
                       const std::vector<std::string>& supported) {
  for (const auto& t : types)
    if (std::find(supported.begin(), supported.end(), t) == supported.end())
      c.bad(key, "block type " + t + " is not supported (" + join(supported, ", ") + ")");
}

// reverse_transformer_layers_per_block: one depth per up block (a list per block must repeat one depth).
std::vector<int> read_reverse_depths(const ConfigView& c, std::size_t n) {
  const char* key = "reverse_transformer_layers_per_block";
  const auto& v = c.raw()[key];
  if (!v.is_array() || v.size() != n) c.bad(key, "expected one entry per up block");
  std::vector<int> depths;
  for (const auto& e : v) {
    if (e.is_number_integer()) {
      depths.push_back(e.get<int>());
    } else if (e.is_array() && !e.empty() && e[0].is_number_integer()) {
      for (const auto& x : e)
        if (x != e[0]) c.bad(key, "different depths within one block are not supported");
      depths.push_back(e[0].get<int>());
    } else {
      c.bad(key, "expected integers");
    }
  }
  return depths;
}

}  // namespace

UNetConfig UNetConfig::from(const ConfigView& c) {
  UNetConfig u;
  c.read("in_channels", u.in_channels);
  c.read("out_channels", u.out_channels);
  c.read("sample_size", u.sample_size);
  u.down_block_types = c.get_string_list("down_block_types");
  u.up_block_types = c.get_string_list("up_block_types");
  u.block_out_channels = c.get_int_list("block_out_channels");
  const auto n = u.block_out_channels.size();
  if (n == 0 || u.down_block_types.size() != n || u.up_block_types.size() != n)
    c.bad("block_out_channels", "down_block_types, up_block_types and block_out_channels must have the same length");
  check_block_types(c, "down_block_types", u.down_block_types, catimage::down_block_types());
  check_block_types(c, "up_block_types", u.up_block_types, catimage::up_block_types());
  c.read_per_block("layers_per_block", u.layers_per_block, n);
  // diffusers' historical naming: attention_head_dim is the number of heads unless
  // num_attention_heads is given.
  c.read_per_block(c.has("num_attention_heads") ? "num_attention_heads" : "attention_head_dim", u.num_attention_heads,
                   n);
  c.read_per_block("transformer_layers_per_block", u.transformer_layers_per_block, n);
  if (c.has("reverse_transformer_layers_per_block")) {
    u.reverse_transformer_layers_per_block = read_reverse_depths(c, n);
  } else {
    const auto& depths = u.transformer_layers_per_block;
    u.reverse_transformer_layers_per_block.assign(depths.rbegin(), depths.rend());
  }
  c.read_per_block("cross_attention_dim", u.cross_attention_dims, n);
  c.read("norm_num_groups", u.norm_num_groups);
  c.read("norm_eps", u.norm_eps);
  c.read("flip_sin_to_cos", u.flip_sin_to_cos);
  c.read("freq_shift", u.freq_shift);
  c.read("downsample_padding", u.downsample_padding);
  c.read("use_linear_projection", u.use_linear_projection);
  for (int ch : u.block_out_channels)
    if (ch % u.norm_num_groups != 0) c.bad("norm_num_groups", "does not divide block_out_channels");
  for (std::size_t i = 0; i < n; ++i)
    if (u.num_attention_heads[i] <= 0 || u.block_out_channels[i] % u.num_attention_heads[i] != 0)
      c.bad("attention_head_dim", "the number of heads must divide each block's channels");
  if (c.has("addition_embed_type")) {
    if (c.get_string("addition_embed_type") != "text_time")
      c.bad("addition_embed_type", "only \"text_time\" (SDXL) is supported");
    u.text_time = true;
    u.addition_time_embed_dim = c.get_int("addition_time_embed_dim");
    u.projection_class_embeddings_input_dim = c.get_int("projection_class_embeddings_input_dim");
  } else {
    c.require_default("projection_class_embeddings_input_dim", nullptr);
  }
  c.require_defaults(kSupportedOnly);
  return u;
}

}  // namespace catimage
