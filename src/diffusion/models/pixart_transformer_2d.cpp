#include "catimage/diffusion/models/pixart_transformer_2d.hpp"

#include <cmath>
#include <filesystem>
#include <string>

#include "catimage/io/weights.hpp"
#include "catimage/util/error.hpp"

namespace catimage {

namespace {

std::string shape(const torch::Tensor& t) {
  std::string s = "(";
  for (std::int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + ")";
}

}  // namespace

PixArtTransformer2DModelImpl::PixArtTransformer2DModelImpl(const PixArtTransformerConfig& c) : cfg(c) {
  const auto dim = c.inner_dim();
  PatchEmbedOptions pe;
  pe.sample_size = c.sample_size;
  pe.patch_size = c.patch_size;
  pe.in_channels = c.in_channels;
  pe.embed_dim = dim;
  pe.interpolation_scale = c.pos_interpolation_scale();
  pos_embed = register_module("pos_embed", PatchEmbed(pe));
  transformer_blocks = register_module("transformer_blocks", torch::nn::ModuleList());
  PixArtTransformerBlockOptions b;
  b.dim = dim;
  b.num_attention_heads = c.num_attention_heads;
  b.attention_head_dim = c.attention_head_dim;
  b.cross_attention_dim = c.cross_attention_dim;
  b.attention_bias = c.attention_bias;
  b.norm_elementwise_affine = c.norm_elementwise_affine;
  b.norm_eps = c.norm_eps;
  for (std::int64_t i = 0; i < c.num_layers; ++i) transformer_blocks->push_back(PixArtTransformerBlock(b));
  norm_out = register_module(
      "norm_out", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(1e-6).elementwise_affine(false)));
  scale_shift_table =
      register_parameter("scale_shift_table", torch::randn({2, dim}) / std::sqrt(static_cast<double>(dim)));
  proj_out = register_module("proj_out", torch::nn::Linear(dim, c.patch_size * c.patch_size * c.out_channels));
  adaln_single = register_module("adaln_single", AdaLayerNormSingle(dim, c.use_additional_conditions));
  if (c.caption_channels > 0)
    caption_projection = register_module("caption_projection", PixArtAlphaTextProjection(c.caption_channels, dim));
}

torch::Tensor PixArtTransformer2DModelImpl::forward(const torch::Tensor& sample, const torch::Tensor& timestep,
                                                    const torch::Tensor& context, const torch::Tensor& context_mask,
                                                    const PixArtMicroConditions& micro) {
  const auto B = sample.size(0);
  const auto p = cfg.patch_size, C = cfg.out_channels;
  if (sample.dim() != 4 || sample.size(1) != cfg.in_channels)
    fail("PixArt transformer: expected latents (B, {}, H, W), got {}", cfg.in_channels, shape(sample));
  if (context.dim() != 3 || context.size(0) != B || context.size(2) != cfg.text_dim())
    fail("PixArt transformer: expected text states ({}, M, {}), got {}", B, cfg.text_dim(), shape(context));
  const auto gh = sample.size(2) / p, gw = sample.size(3) / p;
  const auto dtype = sample.scalar_type();

  // diffusers: (1 - mask) * -10000 as a (B, 1, M) bias on the cross-attention scores
  torch::Tensor bias;
  if (context_mask.defined()) {
    if (context_mask.dim() != 2 || context_mask.size(0) != B || context_mask.size(1) != context.size(1))
      fail("PixArt transformer: expected a text mask ({}, {}), got {}", B, context.size(1), shape(context_mask));
    bias = ((1 - context_mask.to(dtype)) * -10000.0).unsqueeze(1);
  }

  auto x = pos_embed(sample);
  auto t = timestep.dim() == 0 ? timestep.reshape({1}) : timestep;
  if (t.size(0) == 1 && B > 1) t = t.expand({B});
  auto [t_mod, embedded] = adaln_single(t, micro.resolution, micro.aspect_ratio, dtype);
  auto ctx = caption_projection ? caption_projection(context).view({B, -1, x.size(-1)}) : context;

  for (std::size_t i = 0; i < transformer_blocks->size(); ++i)
    x = transformer_blocks->at<PixArtTransformerBlockImpl>(i).forward(x, t_mod, ctx, bias);

  // (1, 2, dim) + (B, 1, dim) -> shift, scale (B, 1, dim)
  auto ss = (scale_shift_table.unsqueeze(0) + embedded.unsqueeze(1)).chunk(2, 1);
  x = norm_out(x) * (1 + ss[1]) + ss[0];
  x = proj_out(x);
  // unpatchify: (B, h, w, p, q, C) -> (B, C, h, p, w, q)
  return x.reshape({B, gh, gw, p, p, C}).permute({0, 5, 1, 3, 2, 4}).reshape({B, C, gh * p, gw * p});
}

PixArtTransformer2DModel load_pixart_transformer(const std::string& dir) {
  auto cfg = PixArtTransformerConfig::load((std::filesystem::path(dir) / "config.json").string());
  PixArtTransformer2DModel m(cfg);
  load_weights(*m, WeightFiles::in_folder(dir, "diffusion_pytorch_model"));
  m->eval();
  return m;
}

}  // namespace catimage
