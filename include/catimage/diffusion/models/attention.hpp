#pragma once
// diffusers' attention pieces: Attention (to_q/to_k/to_v/to_out.0, optional group_norm for
// the VAE's spatial self-attention), GEGLU feed-forward and BasicTransformerBlock.
#include <torch/torch.h>

namespace catimage {

// q: (B, N, heads*d), k/v: (B, M, heads*d) -> (B, N, heads*d), softmax(q kᵀ/√d) v.
// Uses fused scaled-dot-product attention where libtorch >= 2 offers it.
torch::Tensor multihead_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                  std::int64_t heads, bool causal = false);

// As multihead_attention, with an additive bias on the scores: softmax(q kᵀ/√d + bias) v.
// bias: (B, 1, M) (one row per key, e.g. diffusers' padding mask as 0 / -10000) or (B, N, M),
// in any floating dtype; the same for every head.
torch::Tensor masked_multihead_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                         std::int64_t heads, const torch::Tensor& bias);

// diffusers' Attention arguments.
struct AttentionOptions {
  std::int64_t query_dim = 0;
  std::int64_t cross_attention_dim = 0;  // 0: self-attention
  std::int64_t heads = 8, dim_head = 64;
  bool bias = false;     // on to_q/to_k/to_v
  bool out_bias = true;  // on to_out.0
  // > 0: a GroupNorm ("group_norm") on (B,C,H,W) input (the VAE's mid-block attention).
  std::int64_t norm_num_groups = 0;
  double eps = 1e-5;
};

struct AttentionImpl : torch::nn::Module {
  explicit AttentionImpl(const AttentionOptions& o);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context = {});
  // forward with an additive score bias (masked_multihead_attention); an undefined bias: forward.
  torch::Tensor forward_masked(const torch::Tensor& x, const torch::Tensor& context, const torch::Tensor& bias);
  // (B,C,H,W) spatial self-attention with group norm and residual.
  torch::Tensor forward_spatial(const torch::Tensor& x);

  std::int64_t heads;
  torch::nn::Linear to_q{nullptr}, to_k{nullptr}, to_v{nullptr};
  torch::nn::ModuleList to_out;
  torch::nn::GroupNorm group_norm{nullptr};
};
TORCH_MODULE(Attention);

struct GEGLUImpl : torch::nn::Module {
  GEGLUImpl(std::int64_t dim_in, std::int64_t dim_out, bool bias = true);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear proj{nullptr};
};
TORCH_MODULE(GEGLU);

// FeedForward with activation_fn="geglu": net.0 = GEGLU, net.1 = Dropout, net.2 = Linear.
// inner_dim 0: dim * mult.
struct FeedForwardImpl : torch::nn::Module {
  FeedForwardImpl(std::int64_t dim, std::int64_t mult = 4, std::int64_t inner_dim = 0, bool bias = true);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::ModuleList net;
};
TORCH_MODULE(FeedForward);

// diffusers' BasicTransformerBlock arguments (layer norms, GEGLU feed-forward, no dropout).
struct BasicTransformerBlockOptions {
  std::int64_t dim = 0, num_attention_heads = 1, attention_head_dim = 0;
  std::int64_t cross_attention_dim = 0;  // 0: attn2 attends to the input itself
};

struct BasicTransformerBlockImpl : torch::nn::Module {
  explicit BasicTransformerBlockImpl(const BasicTransformerBlockOptions& o);
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& context);
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr}, norm3{nullptr};
  Attention attn1{nullptr}, attn2{nullptr};
  FeedForward ff{nullptr};
};
TORCH_MODULE(BasicTransformerBlock);

}  // namespace catimage
