#include "catimage/diffusion/models/uvit_2d_blocks.hpp"

namespace catimage {

namespace F = torch::nn::functional;

namespace {

torch::nn::Linear linear(std::int64_t in, std::int64_t out, bool bias) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias));
}

torch::nn::Conv2d conv1x1(std::int64_t in, std::int64_t out, bool bias) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1).bias(bias));
}

// An RMS norm over the channels of (B, C, H, W).
torch::Tensor channel_norm(RMSNorm& norm, const torch::Tensor& x) {
  return norm(x.permute({0, 2, 3, 1})).permute({0, 3, 1, 2});
}

Attention attention(std::int64_t dim, std::int64_t heads, std::int64_t head_dim, std::int64_t cross_attention_dim,
                    bool bias, bool out_bias) {
  AttentionOptions a;
  a.query_dim = dim;
  a.heads = heads;
  a.dim_head = head_dim;
  a.cross_attention_dim = cross_attention_dim;
  a.bias = bias;
  a.out_bias = out_bias;
  return Attention(a);
}

}  // namespace

UVit2DConvEmbedImpl::UVit2DConvEmbedImpl(std::int64_t in_channels, std::int64_t block_out_channels,
                                         std::int64_t vocab_size, bool elementwise_affine, double eps, bool bias) {
  embeddings = register_module("embeddings", torch::nn::Embedding(vocab_size, in_channels));
  layer_norm = register_module("layer_norm", RMSNorm(in_channels, eps, elementwise_affine));
  conv = register_module("conv", conv1x1(in_channels, block_out_channels, bias));
}

torch::Tensor UVit2DConvEmbedImpl::forward(const torch::Tensor& input_ids) {
  auto e = layer_norm(embeddings(input_ids));
  return conv(e.permute({0, 3, 1, 2}));
}

ConvNextBlockImpl::ConvNextBlockImpl(std::int64_t channels, double eps, bool elementwise_affine, bool bias,
                                     std::int64_t hidden_size, std::int64_t res_ffn_factor) {
  const auto inner = channels * res_ffn_factor;
  depthwise = register_module(
      "depthwise",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 3).padding(1).groups(channels).bias(bias)));
  norm = register_module("norm", RMSNorm(channels, eps, elementwise_affine));
  channelwise_linear_1 = register_module("channelwise_linear_1", linear(channels, inner, bias));
  channelwise_norm = register_module("channelwise_norm", GlobalResponseNorm(inner));
  channelwise_linear_2 = register_module("channelwise_linear_2", linear(inner, channels, bias));
  cond_embeds_mapper = register_module("cond_embeds_mapper", linear(hidden_size, 2 * channels, bias));
}

torch::Tensor ConvNextBlockImpl::forward(const torch::Tensor& x_res, const torch::Tensor& cond_embeds) {
  auto x = depthwise(x_res).permute({0, 2, 3, 1});
  x = channelwise_linear_1(norm(x));
  x = channelwise_linear_2(channelwise_norm(F::gelu(x)));
  x = x.permute({0, 3, 1, 2}) + x_res;
  auto ss = cond_embeds_mapper(torch::silu(cond_embeds)).chunk(2, 1);
  return x * (1 + ss[0].unsqueeze(-1).unsqueeze(-1)) + ss[1].unsqueeze(-1).unsqueeze(-1);
}

SkipFFTransformerBlockImpl::SkipFFTransformerBlockImpl(std::int64_t dim, std::int64_t heads, std::int64_t head_dim,
                                                       std::int64_t kv_input_dim, bool kv_input_dim_proj_use_bias,
                                                       std::int64_t cross_attention_dim, bool attention_bias,
                                                       bool attention_out_bias) {
  if (kv_input_dim != dim)
    kv_mapper = register_module("kv_mapper", linear(kv_input_dim, dim, kv_input_dim_proj_use_bias));
  norm1 = register_module("norm1", RMSNorm(dim, 1e-6));
  attn1 = register_module("attn1",
                          attention(dim, heads, head_dim, cross_attention_dim, attention_bias, attention_out_bias));
  norm2 = register_module("norm2", RMSNorm(dim, 1e-6));
  attn2 = register_module("attn2",
                          attention(dim, heads, head_dim, cross_attention_dim, attention_bias, attention_out_bias));
}

torch::Tensor SkipFFTransformerBlockImpl::forward(torch::Tensor x, torch::Tensor encoder_hidden_states) {
  if (kv_mapper) encoder_hidden_states = kv_mapper(torch::silu(encoder_hidden_states));
  x = attn1(norm1(x), encoder_hidden_states) + x;
  return attn2(norm2(x), encoder_hidden_states) + x;
}

RMSNormResample2DImpl::RMSNormResample2DImpl(std::int64_t channels, bool up, double eps, bool elementwise_affine,
                                             bool bias) {
  norm = register_module("norm", RMSNorm(channels, eps, elementwise_affine));
  if (up) {
    conv_transpose = register_module(
        "conv",
        torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(channels, channels, 2).stride(2).bias(bias)));
  } else {
    conv = register_module("conv",
                           torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 2).stride(2).bias(bias)));
  }
}

torch::Tensor RMSNormResample2DImpl::forward(const torch::Tensor& x) {
  auto h = channel_norm(norm, x);
  if (conv_transpose) {
    // libtorch 1.x has no CPU transposed convolution in half precision: that one op in fp32 there
    if (h.device().is_cpu() && h.scalar_type() != torch::kFloat32) {
      const auto& b = conv_transpose->bias;
      auto o = F::conv_transpose2d(
          h.to(torch::kFloat32), conv_transpose->weight.to(torch::kFloat32),
          F::ConvTranspose2dFuncOptions().stride(2).bias(b.defined() ? b.to(torch::kFloat32) : torch::Tensor()));
      return o.to(h.scalar_type());
    }
    return conv_transpose(h);
  }
  return conv(F::pad(h, F::PadFuncOptions({0, 1, 0, 1})));
}

UVitBlockImpl::UVitBlockImpl(const UVitBlockOptions& o) {
  const auto c = o.channels;
  if (o.downsample)
    downsample = register_module("downsample", RMSNormResample2D(c, false, o.eps, o.elementwise_affine, o.bias));
  res_blocks = register_module("res_blocks", torch::nn::ModuleList());
  attention_blocks = register_module("attention_blocks", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < o.num_res_blocks; ++i) {
    res_blocks->push_back(ConvNextBlock(c, o.eps, o.elementwise_affine, o.bias, o.hidden_size));
    attention_blocks->push_back(
        SkipFFTransformerBlock(c, o.block_num_heads, c / o.block_num_heads, o.hidden_size, o.bias, c, o.bias, o.bias));
  }
  if (o.upsample)
    upsample = register_module("upsample", RMSNormResample2D(c, true, o.eps, o.elementwise_affine, o.bias));
}

torch::Tensor UVitBlockImpl::forward(torch::Tensor x, const torch::Tensor& pooled_text_emb,
                                     const torch::Tensor& encoder_hidden_states) {
  if (downsample) x = downsample(x);
  for (std::size_t i = 0; i < res_blocks->size(); ++i) {
    x = res_blocks->at<ConvNextBlockImpl>(i).forward(x, pooled_text_emb);
    const auto B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
    auto t = x.reshape({B, C, H * W}).permute({0, 2, 1});
    t = attention_blocks->at<SkipFFTransformerBlockImpl>(i).forward(t, encoder_hidden_states);
    x = t.permute({0, 2, 1}).reshape({B, C, H, W});
  }
  if (upsample) x = upsample(x);
  return x;
}

AdaNormTransformerBlockImpl::AdaNormTransformerBlockImpl(const AdaNormTransformerBlockOptions& o) {
  AdaLayerNormContinuousOptions n;
  n.embedding_dim = o.dim;
  n.conditioning_embedding_dim = o.conditioning_dim;
  n.elementwise_affine = o.norm_elementwise_affine;
  n.eps = o.norm_eps;
  n.bias = o.ada_norm_bias;
  n.norm_type = "rms_norm";
  norm1 = register_module("norm1", AdaLayerNormContinuous(n));
  attn1 = register_module("attn1", attention(o.dim, o.num_attention_heads, o.attention_head_dim, 0, o.attention_bias,
                                             o.attention_out_bias));
  norm2 = register_module("norm2", AdaLayerNormContinuous(n));
  attn2 = register_module("attn2", attention(o.dim, o.num_attention_heads, o.attention_head_dim, o.cross_attention_dim,
                                             o.attention_bias, o.attention_out_bias));
  n.norm_type = "layer_norm";
  norm3 = register_module("norm3", AdaLayerNormContinuous(n));
  ff = register_module("ff", FeedForward(o.dim, 4, o.ff_inner_dim, o.ff_bias));
}

torch::Tensor AdaNormTransformerBlockImpl::forward(torch::Tensor x, const torch::Tensor& encoder_hidden_states,
                                                   const torch::Tensor& pooled) {
  x = attn1(norm1(x, pooled)) + x;
  x = attn2(norm2(x, pooled), encoder_hidden_states) + x;
  return ff(norm3(x, pooled)) + x;
}

ConvMlmLayerImpl::ConvMlmLayerImpl(std::int64_t block_out_channels, std::int64_t in_channels, bool bias,
                                   bool elementwise_affine, double eps, std::int64_t codebook_size) {
  conv1 = register_module("conv1", conv1x1(block_out_channels, in_channels, bias));
  layer_norm = register_module("layer_norm", RMSNorm(in_channels, eps, elementwise_affine));
  conv2 = register_module("conv2", conv1x1(in_channels, codebook_size, bias));
}

torch::Tensor ConvMlmLayerImpl::forward(const torch::Tensor& x) { return conv2(channel_norm(layer_norm, conv1(x))); }

}  // namespace catimage
