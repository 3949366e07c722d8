#include "catimage/diffusion/models/pixart_transformer_block.hpp"

#include <cmath>

namespace catimage {

GELUProjImpl::GELUProjImpl(std::int64_t dim_in, std::int64_t dim_out) {
  proj = register_module("proj", torch::nn::Linear(dim_in, dim_out));
}

torch::Tensor GELUProjImpl::forward(const torch::Tensor& x) { return torch::gelu(proj(x), "tanh"); }

GELUFeedForwardImpl::GELUFeedForwardImpl(std::int64_t dim, std::int64_t mult) {
  net = register_module("net", torch::nn::ModuleList());
  net->push_back(GELUProj(dim, dim * mult));
  net->push_back(torch::nn::Dropout(0.0));
  net->push_back(torch::nn::Linear(dim * mult, dim));
}

torch::Tensor GELUFeedForwardImpl::forward(const torch::Tensor& x) {
  return net->at<torch::nn::LinearImpl>(2).forward(net->at<GELUProjImpl>(0).forward(x));
}

PixArtTransformerBlockImpl::PixArtTransformerBlockImpl(const PixArtTransformerBlockOptions& o) {
  const auto dim = o.dim;
  auto norm = [&] {
    return torch::nn::LayerNorm(
        torch::nn::LayerNormOptions({dim}).eps(o.norm_eps).elementwise_affine(o.norm_elementwise_affine));
  };
  AttentionOptions attn;
  attn.query_dim = dim;
  attn.heads = o.num_attention_heads;
  attn.dim_head = o.attention_head_dim;
  attn.bias = o.attention_bias;
  norm1 = register_module("norm1", norm());
  attn1 = register_module("attn1", Attention(attn));
  norm2 = register_module("norm2", norm());
  attn.cross_attention_dim = o.cross_attention_dim;
  attn2 = register_module("attn2", Attention(attn));
  ff = register_module("ff", GELUFeedForward(dim));
  // diffusers: torch.randn(6, dim) / dim**0.5 (loaded from the checkpoint)
  scale_shift_table =
      register_parameter("scale_shift_table", torch::randn({6, dim}) / std::sqrt(static_cast<double>(dim)));
}

torch::Tensor PixArtTransformerBlockImpl::forward(torch::Tensor x, const torch::Tensor& timestep_mod,
                                                  const torch::Tensor& context, const torch::Tensor& context_bias) {
  const auto B = x.size(0);
  // (1, 6, dim) + (B, 6, dim) -> shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp, each (B, 1, dim)
  auto mod = (scale_shift_table.unsqueeze(0) + timestep_mod.reshape({B, 6, -1})).chunk(6, 1);
  auto h = norm1(x) * (1 + mod[1]) + mod[0];
  x = mod[2] * attn1(h) + x;
  x = attn2->forward_masked(x, context, context_bias) + x;
  h = norm2(x) * (1 + mod[4]) + mod[3];
  return mod[5] * ff(h) + x;
}

}  // namespace catimage
