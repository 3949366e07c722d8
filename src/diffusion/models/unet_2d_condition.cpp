#include "catimage/diffusion/models/unet_2d_condition.hpp"

#include <algorithm>

#include "catimage/diffusion/models/unet_2d_down_blocks.hpp"
#include "catimage/diffusion/models/unet_2d_up_blocks.hpp"
#include "catimage/util/error.hpp"

namespace catimage {

namespace F = torch::nn::functional;

namespace {

template <class T>
std::vector<T> reversed(const std::vector<T>& v) {
  return std::vector<T>(v.rbegin(), v.rend());
}

// What every block of the UNet gets from the config, and the block's attention shape.
template <class Options>
Options block_options(const UNetConfig& c, std::int64_t temb, int heads, int depth, int cross_dim) {
  Options o;
  o.temb_channels = temb;
  o.resnet_groups = c.norm_num_groups;
  o.resnet_eps = c.norm_eps;
  o.num_attention_heads = heads;
  o.transformer_layers_per_block = depth;
  o.cross_attention_dim = cross_dim;
  o.use_linear_projection = c.use_linear_projection;
  return o;
}

}  // namespace

UNet2DConditionModelImpl::UNet2DConditionModelImpl(const UNetConfig& c) : cfg(c) {
  const auto n = c.block_out_channels.size();
  const std::int64_t ch0 = c.block_out_channels[0], temb = ch0 * 4;
  // input
  conv_in = register_module("conv_in", torch::nn::Conv2d(torch::nn::Conv2dOptions(c.in_channels, ch0, 3).padding(1)));
  // time
  time_embedding = register_module("time_embedding", TimestepEmbedding(ch0, temb));
  if (c.text_time)
    add_embedding = register_module("add_embedding", TimestepEmbedding(c.projection_class_embeddings_input_dim, temb));

  // down
  down_blocks = register_module("down_blocks", torch::nn::ModuleList());
  std::int64_t output_channel = ch0;
  for (std::size_t i = 0; i < n; ++i) {
    auto o = block_options<CrossAttnDownBlock2DOptions>(c, temb, c.num_attention_heads[i],
                                                        c.transformer_layers_per_block[i], c.cross_attention_dims[i]);
    o.in_channels = output_channel;
    o.out_channels = output_channel = c.block_out_channels[i];
    o.num_layers = c.layers_per_block[i];
    o.add_downsample = i + 1 < n;
    o.downsample_padding = c.downsample_padding;
    down_blocks->push_back(get_down_block(c.down_block_types[i], o));
  }

  // mid
  auto mid = block_options<UNetMidBlock2DCrossAttnOptions>(
      c, temb, c.num_attention_heads.back(), c.transformer_layers_per_block.back(), c.cross_attention_dims.back());
  mid.in_channels = c.block_out_channels.back();
  mid_block = register_module("mid_block", UNetMidBlock2DCrossAttn(mid));

  // up
  up_blocks = register_module("up_blocks", torch::nn::ModuleList());
  const auto channels = reversed(c.block_out_channels), heads = reversed(c.num_attention_heads),
             layers = reversed(c.layers_per_block), cross_dims = reversed(c.cross_attention_dims);
  output_channel = channels[0];
  for (std::size_t i = 0; i < n; ++i) {
    auto o = block_options<CrossAttnUpBlock2DOptions>(c, temb, heads[i], c.reverse_transformer_layers_per_block[i],
                                                      cross_dims[i]);
    o.prev_output_channel = output_channel;
    o.out_channels = output_channel = channels[i];
    o.in_channels = channels[std::min(i + 1, n - 1)];
    o.num_layers = layers[i] + 1;
    o.add_upsample = i + 1 < n;
    up_blocks->push_back(get_up_block(c.up_block_types[i], o));
  }

  // output
  conv_norm_out = register_module(
      "conv_norm_out", torch::nn::GroupNorm(torch::nn::GroupNormOptions(c.norm_num_groups, ch0).eps(c.norm_eps)));
  conv_out =
      register_module("conv_out", torch::nn::Conv2d(torch::nn::Conv2dOptions(ch0, c.out_channels, 3).padding(1)));
}

torch::Tensor UNet2DConditionModelImpl::embed_time(const torch::Tensor& sample, const torch::Tensor& timesteps,
                                                   const torch::Tensor& text_embeds, const torch::Tensor& time_ids) {
  const auto B = sample.size(0);
  const auto dtype = sample.scalar_type();
  auto t = timesteps.to(sample.device()).reshape({-1});
  if (t.size(0) == 1) t = t.expand({B});
  auto emb =
      time_embedding(timestep_embedding(t, cfg.block_out_channels[0], cfg.flip_sin_to_cos, cfg.freq_shift).to(dtype));
  if (!cfg.text_time) return emb;
  if (!text_embeds.defined() || !time_ids.defined())
    fail("this UNet (addition_embed_type \"text_time\", SDXL) needs pooled text embeddings and time ids");
  auto time_embeds = timestep_embedding(time_ids.reshape({-1}).to(sample.device()), cfg.addition_time_embed_dim,
                                        cfg.flip_sin_to_cos, cfg.freq_shift)
                         .reshape({B, -1});
  auto add = torch::cat({text_embeds.to(dtype), time_embeds.to(dtype)}, -1);
  return emb + add_embedding(add);
}

torch::Tensor UNet2DConditionModelImpl::forward(const torch::Tensor& sample, const torch::Tensor& timesteps,
                                                const torch::Tensor& context, const torch::Tensor& text_embeds,
                                                const torch::Tensor& time_ids) {
  // 0. sizes not divisible by 2^(upsamplers) make each upsampler follow its skip's size
  const std::int64_t factor = std::int64_t{1} << (cfg.block_out_channels.size() - 1);
  const bool forward_upsample_size = sample.size(2) % factor != 0 || sample.size(3) % factor != 0;

  // 1. time
  auto emb = embed_time(sample, timesteps, text_embeds, time_ids);

  // 2. pre-process
  auto x = conv_in(sample);

  // 3. down
  std::vector<torch::Tensor> skips{x};
  for (std::size_t i = 0; i < down_blocks->size(); ++i)
    x = down_blocks->at<UNetDownBlock>(i).forward(x, emb, context, skips);

  // 4. mid
  x = mid_block(x, emb, context);

  // 5. up
  for (std::size_t i = 0; i < up_blocks->size(); ++i) {
    auto& block = up_blocks->at<UNetUpBlock>(i);
    std::vector<std::int64_t> upsample_size;
    if (i + 1 < up_blocks->size() && forward_upsample_size) {
      const auto& skip = skips[skips.size() - block.resnets->size() - 1];
      upsample_size = {skip.size(2), skip.size(3)};
    }
    x = block.forward(x, skips, emb, context, upsample_size);
  }

  // 6. post-process
  return conv_out(F::silu(conv_norm_out(x)));
}

}  // namespace catimage
