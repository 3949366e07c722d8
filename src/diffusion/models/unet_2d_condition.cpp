#include "catimage/diffusion/models/unet_2d_condition.hpp"

#include <algorithm>

#include "catimage/util/error.hpp"

namespace catimage {

namespace F = torch::nn::functional;

UNetConfig UNetConfig::from(const ConfigView& c) {
  UNetConfig u;
  u.in_channels = c.get_int("in_channels", 4);
  u.out_channels = c.get_int("out_channels", 4);
  u.sample_size = c.get_int("sample_size", 64);
  u.down_block_types = c.get_string_list("down_block_types");
  u.up_block_types = c.get_string_list("up_block_types");
  u.block_out_channels = c.get_int_list("block_out_channels");
  const auto n = u.block_out_channels.size();
  if (n == 0 || u.down_block_types.size() != n || u.up_block_types.size() != n)
    c.bad("block_out_channels", "down_block_types, up_block_types and block_out_channels must have the same length");
  for (const auto& t : u.down_block_types)
    if (t != "CrossAttnDownBlock2D" && t != "DownBlock2D")
      c.bad("down_block_types", "block type " + t + " is not supported (CrossAttnDownBlock2D, DownBlock2D)");
  for (const auto& t : u.up_block_types)
    if (t != "CrossAttnUpBlock2D" && t != "UpBlock2D")
      c.bad("up_block_types", "block type " + t + " is not supported (CrossAttnUpBlock2D, UpBlock2D)");
  c.require_default("mid_block_type", "UNetMidBlock2DCrossAttn");
  u.layers_per_block = c.get_int_or_list("layers_per_block", n, 2);
  // diffusers' historical naming: attention_head_dim is the number of heads unless
  // num_attention_heads is given.
  u.heads = c.has("num_attention_heads") ? c.get_int_or_list("num_attention_heads", n)
                                         : c.get_int_or_list("attention_head_dim", n, 8);
  u.transformer_layers = c.get_int_or_list("transformer_layers_per_block", n, 1);
  if (c.has("reverse_transformer_layers_per_block")) {
    if (!c.raw()["reverse_transformer_layers_per_block"].is_array() ||
        c.raw()["reverse_transformer_layers_per_block"].size() != n)
      c.bad("reverse_transformer_layers_per_block", "expected one entry per up block");
    for (const auto& e : c.raw()["reverse_transformer_layers_per_block"]) {
      if (e.is_number_integer()) {
        u.reverse_transformer_layers.push_back(e.get<int>());
      } else if (e.is_array() && !e.empty() && e[0].is_number_integer()) {
        for (const auto& x : e)
          if (x != e[0]) c.bad("reverse_transformer_layers_per_block", "different depths within one block are not supported");
        u.reverse_transformer_layers.push_back(e[0].get<int>());
      } else {
        c.bad("reverse_transformer_layers_per_block", "expected integers");
      }
    }
  } else {
    u.reverse_transformer_layers.assign(u.transformer_layers.rbegin(), u.transformer_layers.rend());
  }
  u.cross_dims = c.get_int_or_list("cross_attention_dim", n, 1280);
  u.norm_num_groups = c.get_int("norm_num_groups", 32);
  u.norm_eps = c.get_double("norm_eps", 1e-5);
  u.flip_sin_to_cos = c.get_bool("flip_sin_to_cos", true);
  u.freq_shift = c.get_double("freq_shift", 0);
  u.downsample_padding = c.get_int("downsample_padding", 1);
  u.linear_projection = c.get_bool("use_linear_projection", false);
  for (int ch : u.block_out_channels)
    if (ch % u.norm_num_groups != 0) c.bad("norm_num_groups", "does not divide block_out_channels");
  for (std::size_t i = 0; i < n; ++i)
    if (u.heads[i] <= 0 || u.block_out_channels[i] % u.heads[i] != 0)
      c.bad("attention_head_dim", "the number of heads must divide each block's channels");
  if (c.has("addition_embed_type")) {
    if (c.get_string("addition_embed_type") != "text_time")
      c.bad("addition_embed_type", "only \"text_time\" (SDXL) is supported");
    u.text_time = true;
    u.addition_time_embed_dim = c.get_int("addition_time_embed_dim");
    u.projection_class_embeddings_input_dim = c.get_int("projection_class_embeddings_input_dim");
  }
  // Options of other UNet families: refuse rather than silently compute something else.
  c.require_default("act_fn", "silu");
  c.require_default("center_input_sample", false);
  c.require_default("class_embed_type", nullptr);
  c.require_default("num_class_embeds", nullptr);
  c.require_default("encoder_hid_dim", nullptr);
  c.require_default("encoder_hid_dim_type", nullptr);
  c.require_default("time_embedding_type", "positional");
  c.require_default("time_embedding_dim", nullptr);
  c.require_default("time_cond_proj_dim", nullptr);
  c.require_default("resnet_time_scale_shift", "default");
  c.require_default("resnet_skip_time_act", false);
  c.require_default("resnet_out_scale_factor", 1.0);
  c.require_default("conv_in_kernel", 3);
  c.require_default("conv_out_kernel", 3);
  c.require_default("only_cross_attention", false);
  c.require_default("dual_cross_attention", false);
  c.require_default("attention_type", "default");
  c.require_default("mid_block_only_cross_attention", nullptr);
  c.require_default("class_embeddings_concat", false);
  c.require_default("cross_attention_norm", nullptr);
  c.require_default("addition_embed_type_num_heads", 64);
  c.require_default("mid_block_scale_factor", 1.0);
  c.require_default("time_embedding_act_fn", nullptr);
  c.require_default("timestep_post_act", nullptr);
  c.require_default("projection_class_embeddings_input_dim", c.has("addition_embed_type")
                                                                 ? c.raw()["projection_class_embeddings_input_dim"]
                                                                 : json(nullptr));
  return u;
}

UNet2DConditionModelImpl::UNet2DConditionModelImpl(const UNetConfig& c) : cfg(c) {
  const auto n = c.block_out_channels.size();
  const std::int64_t ch0 = c.block_out_channels[0], temb = ch0 * 4;
  conv_in = register_module("conv_in", torch::nn::Conv2d(torch::nn::Conv2dOptions(c.in_channels, ch0, 3).padding(1)));
  time_embedding = register_module("time_embedding", TimestepEmbedding(ch0, temb));
  if (c.text_time)
    add_embedding = register_module("add_embedding", TimestepEmbedding(c.projection_class_embeddings_input_dim, temb));

  down_blocks = register_module("down_blocks", torch::nn::ModuleList());
  std::int64_t out = ch0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t in = out;
    out = c.block_out_channels[i];
    AttentionSpec a{c.down_block_types[i] == "CrossAttnDownBlock2D", c.heads[i], c.transformer_layers[i], c.cross_dims[i],
                    c.linear_projection};
    downs.emplace_back(in, out, temb, c.layers_per_block[i], i + 1 < n, c.norm_num_groups, c.norm_eps, a,
                       c.downsample_padding);
    down_blocks->push_back(downs.back());
  }
  AttentionSpec mid{true, c.heads.back(), c.transformer_layers.back(), c.cross_dims.back(), c.linear_projection};
  mid_block = register_module("mid_block", UNetMidBlock(c.block_out_channels.back(), temb, c.norm_num_groups, c.norm_eps, mid));

  up_blocks = register_module("up_blocks", torch::nn::ModuleList());
  std::vector<int> rch(c.block_out_channels.rbegin(), c.block_out_channels.rend());
  std::vector<int> rheads(c.heads.rbegin(), c.heads.rend()), rlayers(c.layers_per_block.rbegin(), c.layers_per_block.rend()),
      rcross(c.cross_dims.rbegin(), c.cross_dims.rend());
  out = rch[0];
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t prev = out;
    out = rch[i];
    const std::int64_t in = rch[std::min(i + 1, n - 1)];
    AttentionSpec a{c.up_block_types[i] == "CrossAttnUpBlock2D", rheads[i], c.reverse_transformer_layers[i], rcross[i],
                    c.linear_projection};
    ups.emplace_back(in, prev, out, temb, rlayers[i] + 1, i + 1 < n, c.norm_num_groups, c.norm_eps, a);
    up_blocks->push_back(ups.back());
  }
  conv_norm_out = register_module(
      "conv_norm_out", torch::nn::GroupNorm(torch::nn::GroupNormOptions(c.norm_num_groups, ch0).eps(c.norm_eps)));
  conv_out = register_module("conv_out", torch::nn::Conv2d(torch::nn::Conv2dOptions(ch0, c.out_channels, 3).padding(1)));
}

torch::Tensor UNet2DConditionModelImpl::forward(const torch::Tensor& sample, const torch::Tensor& timesteps,
                                                const torch::Tensor& context, const torch::Tensor& text_embeds,
                                                const torch::Tensor& time_ids) {
  const auto B = sample.size(0);
  const auto dtype = sample.scalar_type();
  auto t = timesteps.to(sample.device()).reshape({-1});
  if (t.size(0) == 1) t = t.expand({B});
  auto emb = time_embedding(timestep_embedding(t, cfg.block_out_channels[0], cfg.flip_sin_to_cos, cfg.freq_shift).to(dtype));
  if (cfg.text_time) {
    if (!text_embeds.defined() || !time_ids.defined())
      fail("this UNet (addition_embed_type \"text_time\", SDXL) needs pooled text embeddings and time ids");
    auto te = timestep_embedding(time_ids.reshape({-1}).to(sample.device()), cfg.addition_time_embed_dim,
                                 cfg.flip_sin_to_cos, cfg.freq_shift)
                  .reshape({B, -1});
    auto add = torch::cat({text_embeds.to(dtype), te.to(dtype)}, -1);
    emb = emb + add_embedding(add);
  }
  // Sizes not divisible by 2^(upsamplers) make each upsampler follow its skip's size.
  const std::int64_t factor = std::int64_t{1} << (cfg.block_out_channels.size() - 1);
  const bool forward_size = sample.size(2) % factor != 0 || sample.size(3) % factor != 0;

  auto x = conv_in(sample);
  std::vector<torch::Tensor> skips{x};
  for (auto& d : downs) x = d(x, emb, context, skips);
  x = mid_block(x, emb, context);
  for (std::size_t i = 0; i < ups.size(); ++i) {
    std::vector<std::int64_t> size;
    const bool last = i + 1 == ups.size();
    if (!last && forward_size) {
      const auto& skip = skips[skips.size() - ups[i]->res.size() - 1];
      size = {skip.size(2), skip.size(3)};
    }
    x = ups[i](x, skips, emb, context, size);
  }
  return conv_out(F::silu(conv_norm_out(x)));
}

}  // namespace catimage
