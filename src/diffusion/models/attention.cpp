#include "catimage/diffusion/models/attention.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace catimage {

namespace F = torch::nn::functional;

namespace {

#if !defined(TORCH_VERSION_MAJOR) || TORCH_VERSION_MAJOR < 2
// Score blocks of about this many bytes stay in the CPU's caches between the GEMM that
// writes them, the softmax and the GEMM that reads them (measured on 2 cores: at 4,096
// tokens, 256-query blocks take 0.6 s where the whole [heads, N, N] tensor takes 1.0 s).
constexpr std::int64_t kScoreBlockBytes = 4 << 20;

// libtorch 1.x has no fused attention. Heads are folded into the batch (as diffusers'
// head_to_batch_dim) and the scale into the queries (d values per row instead of M scores);
// small problems run as one batched baddbmm/softmax/bmm, large ones one head and one block
// of queries at a time into a reused buffer with the softmax in place, so the full score
// tensor (512 MiB per image at SD1.5's 64x64 level) never exists: diffusers' sliced
// attention, on by default because here it is also the faster way.
torch::Tensor attention_1x(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, bool causal) {
  const auto BH = q.size(0), N = q.size(1), M = k.size(1), d = q.size(2);
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  const auto elem = static_cast<std::int64_t>(q.element_size());
  if (causal || BH * N * M * elem <= kScoreBlockBytes) {
    auto scores = torch::bmm(q * scale, k.transpose(1, 2));
    if (causal) {
      auto mask = torch::ones({N, M}, torch::TensorOptions().dtype(torch::kBool).device(q.device())).triu(1);
      scores.masked_fill_(mask, -std::numeric_limits<float>::infinity());
    }
    return torch::bmm(scores.softmax(-1), v);
  }
  const auto qs = (q * scale).contiguous();
  const auto kc = k.contiguous(), vc = v.contiguous();
  const std::int64_t block = std::min<std::int64_t>(N, std::max<std::int64_t>(64, kScoreBlockBytes / (M * elem)));
  auto out = torch::empty({BH, N, d}, q.options());
  auto buf = torch::empty({block, M}, q.options());
  for (std::int64_t h = 0; h < BH; ++h) {
    const auto kt = kc[h].t(), vh = vc[h], qh = qs[h];
    auto oh = out[h];
    for (std::int64_t i = 0; i < N; i += block) {
      const auto n = std::min(block, N - i);
      auto s = buf.narrow(0, 0, n);
      at::mm_out(s, qh.narrow(0, i, n), kt);
      at::_softmax_out(s, s, -1, false);  // row by row: reads each row before writing it
      auto o = oh.narrow(0, i, n);
      at::mm_out(o, s, vh);
    }
  }
  return out;
}

// attention_1x with an additive bias (BH, 1 or N, M): one batched baddbmm when small, else
// the same head-by-head, block-by-block loop with the bias added by addmm.
torch::Tensor attention_1x_bias(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                const torch::Tensor& bias) {
  const auto BH = q.size(0), N = q.size(1), M = k.size(1), d = q.size(2);
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  const auto elem = static_cast<std::int64_t>(q.element_size());
  if (BH * N * M * elem <= kScoreBlockBytes)
    return torch::bmm(torch::baddbmm(bias.expand({BH, N, M}), q * scale, k.transpose(1, 2)).softmax(-1), v);
  const auto qs = (q * scale).contiguous();
  const auto kc = k.contiguous(), vc = v.contiguous();
  const bool per_query = bias.size(1) != 1;
  const std::int64_t block = std::min<std::int64_t>(N, std::max<std::int64_t>(64, kScoreBlockBytes / (M * elem)));
  auto out = torch::empty({BH, N, d}, q.options());
  auto buf = torch::empty({block, M}, q.options());
  for (std::int64_t h = 0; h < BH; ++h) {
    const auto kt = kc[h].t(), vh = vc[h], qh = qs[h], bh = bias[h];
    auto oh = out[h];
    for (std::int64_t i = 0; i < N; i += block) {
      const auto n = std::min(block, N - i);
      auto s = buf.narrow(0, 0, n);
      at::addmm_out(s, per_query ? bh.narrow(0, i, n) : bh, qh.narrow(0, i, n), kt);
      at::_softmax_out(s, s, -1, false);
      auto o = oh.narrow(0, i, n);
      at::mm_out(o, s, vh);
    }
  }
  return out;
}
#endif

}  // namespace

torch::Tensor multihead_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                  std::int64_t heads, bool causal) {
  const auto B = q.size(0), N = q.size(1), M = k.size(1), C = q.size(2);
  const auto d = C / heads;
  auto split = [&](const torch::Tensor& t, std::int64_t len) { return t.view({B, len, heads, d}).transpose(1, 2); };
  auto qh = split(q, N), kh = split(k, M), vh = split(v, M);
#if defined(TORCH_VERSION_MAJOR) && TORCH_VERSION_MAJOR >= 2
  auto o = at::scaled_dot_product_attention(qh, kh, vh, {}, 0.0, causal);
#else
  auto fold = [&](const torch::Tensor& t, std::int64_t len) { return t.reshape({B * heads, len, d}); };
  auto o = attention_1x(fold(qh, N), fold(kh, M), fold(vh, M), causal).view({B, heads, N, d});
#endif
  return o.transpose(1, 2).reshape({B, N, C});
}

torch::Tensor masked_multihead_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                         std::int64_t heads, const torch::Tensor& bias) {
  const auto B = q.size(0), N = q.size(1), M = k.size(1), C = q.size(2);
  const auto d = C / heads;
  auto split = [&](const torch::Tensor& t, std::int64_t len) { return t.view({B, len, heads, d}).transpose(1, 2); };
  auto qh = split(q, N), kh = split(k, M), vh = split(v, M);
  auto b = bias.to(q.scalar_type()).unsqueeze(1);  // (B, 1, 1|N, M): the same for every head
#if defined(TORCH_VERSION_MAJOR) && TORCH_VERSION_MAJOR >= 2
  auto o = at::scaled_dot_product_attention(qh, kh, vh, b, 0.0, false);
#else
  auto fold = [&](const torch::Tensor& t, std::int64_t len) { return t.reshape({B * heads, len, d}); };
  const auto rows = bias.size(1);
  auto bb = b.expand({B, heads, rows, M}).reshape({B * heads, rows, M});
  auto o = attention_1x_bias(fold(qh, N), fold(kh, M), fold(vh, M), bb).view({B, heads, N, d});
#endif
  return o.transpose(1, 2).reshape({B, N, C});
}

AttentionImpl::AttentionImpl(const AttentionOptions& o) : heads(o.heads) {
  const auto query_dim = o.query_dim, inner = o.heads * o.dim_head;
  const auto kv_dim = o.cross_attention_dim > 0 ? o.cross_attention_dim : query_dim;
  const bool bias = o.bias;
  if (o.norm_num_groups > 0)
    group_norm = register_module(
        "group_norm", torch::nn::GroupNorm(torch::nn::GroupNormOptions(o.norm_num_groups, query_dim).eps(o.eps)));
  to_q = register_module("to_q", torch::nn::Linear(torch::nn::LinearOptions(query_dim, inner).bias(bias)));
  to_k = register_module("to_k", torch::nn::Linear(torch::nn::LinearOptions(kv_dim, inner).bias(bias)));
  to_v = register_module("to_v", torch::nn::Linear(torch::nn::LinearOptions(kv_dim, inner).bias(bias)));
  to_out = register_module("to_out", torch::nn::ModuleList());
  to_out->push_back(torch::nn::Linear(torch::nn::LinearOptions(inner, query_dim).bias(o.out_bias)));
  to_out->push_back(torch::nn::Dropout(0.0));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& context) {
  const auto& ctx = context.defined() ? context : x;
  auto o = multihead_attention(to_q(x), to_k(ctx), to_v(ctx), heads);
  return to_out[0]->as<torch::nn::Linear>()->forward(o);
}

torch::Tensor AttentionImpl::forward_masked(const torch::Tensor& x, const torch::Tensor& context,
                                            const torch::Tensor& bias) {
  if (!bias.defined()) return forward(x, context);
  const auto& ctx = context.defined() ? context : x;
  auto o = masked_multihead_attention(to_q(x), to_k(ctx), to_v(ctx), heads, bias);
  return to_out[0]->as<torch::nn::Linear>()->forward(o);
}

torch::Tensor AttentionImpl::forward_spatial(const torch::Tensor& x) {
  const auto B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  auto h = group_norm ? group_norm(x) : x;
  h = h.view({B, C, H * W}).transpose(1, 2);
  h = forward(h);
  h = h.transpose(1, 2).reshape({B, C, H, W});
  return h + x;
}

GEGLUImpl::GEGLUImpl(std::int64_t dim_in, std::int64_t dim_out, bool bias) {
  proj = register_module("proj", torch::nn::Linear(torch::nn::LinearOptions(dim_in, dim_out * 2).bias(bias)));
}

torch::Tensor GEGLUImpl::forward(const torch::Tensor& x) {
  auto parts = proj(x).chunk(2, -1);
  return parts[0] * F::gelu(parts[1]);
}

FeedForwardImpl::FeedForwardImpl(std::int64_t dim, std::int64_t mult, std::int64_t inner_dim, bool bias) {
  const auto inner = inner_dim > 0 ? inner_dim : dim * mult;
  net = register_module("net", torch::nn::ModuleList());
  net->push_back(GEGLU(dim, inner, bias));
  net->push_back(torch::nn::Dropout(0.0));
  net->push_back(torch::nn::Linear(torch::nn::LinearOptions(inner, dim).bias(bias)));
}

torch::Tensor FeedForwardImpl::forward(const torch::Tensor& x) {
  return net->at<torch::nn::LinearImpl>(2).forward(net->at<GEGLUImpl>(0).forward(x));
}

BasicTransformerBlockImpl::BasicTransformerBlockImpl(const BasicTransformerBlockOptions& o) {
  const auto dim = o.dim;
  AttentionOptions attn;
  attn.query_dim = dim;
  attn.heads = o.num_attention_heads;
  attn.dim_head = o.attention_head_dim;
  norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(1e-5)));
  attn1 = register_module("attn1", Attention(attn));
  norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(1e-5)));
  attn.cross_attention_dim = o.cross_attention_dim;
  attn2 = register_module("attn2", Attention(attn));
  norm3 = register_module("norm3", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(1e-5)));
  ff = register_module("ff", FeedForward(dim));
}

torch::Tensor BasicTransformerBlockImpl::forward(torch::Tensor x, const torch::Tensor& context) {
  x = attn1(norm1(x)) + x;
  x = attn2(norm2(x), context) + x;
  return ff(norm3(x)) + x;
}

}  // namespace catimage
