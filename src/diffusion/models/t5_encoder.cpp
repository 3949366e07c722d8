#include "catimage/diffusion/models/t5_encoder.hpp"

#include <cmath>
#include <filesystem>
#include <limits>

#include "catimage/io/weights.hpp"
#include "catimage/util/error.hpp"

namespace fs = std::filesystem;

namespace catimage {

namespace {

// A tensor of `shape`: uninitialised, or N(0, std) drawn in fp32 on the CPU (so seeded random
// weights do not depend on the dtype or device) and converted.
torch::Tensor make_weight(torch::IntArrayRef shape, const torch::TensorOptions& opt, double std, double mean = 0) {
  if (std <= 0) return torch::empty(shape, opt);
  return (torch::randn(shape, torch::kFloat32) * std + mean).to(opt);
}

// `name`.weight as a parameter of a plain submodule (transformers' nn.Embedding keys).
torch::Tensor register_weight(torch::nn::Module& parent, const std::string& name, const torch::Tensor& w) {
  auto m = std::make_shared<torch::nn::Module>();
  auto& p = m->register_parameter("weight", w, /*requires_grad=*/false);
  parent.register_module(name, m);
  return p;
}

// torch.finfo(dtype).min: the additive mask value of transformers' get_extended_attention_mask.
double finfo_min(torch::Dtype dtype) {
  switch (dtype) {
    case torch::kHalf: return -65504.0;
    case torch::kBFloat16: return -3.3895313892515355e38;
    case torch::kDouble: return std::numeric_limits<double>::lowest();
    default: return std::numeric_limits<float>::lowest();
  }
}

// transformers' T5Block: fp16 hidden states are clamped after each sub-layer, to
// finfo.max - 1000 when they hold an inf, else to finfo.max.
torch::Tensor clamp_fp16(const torch::Tensor& h) {
  if (h.scalar_type() != torch::kHalf) return h;
  const double v = torch::isinf(h).any().item<bool>() ? 65504.0 - 1000.0 : 65504.0;
  return torch::clamp(h, -v, v);
}

torch::Tensor activation(const std::string& name, const torch::Tensor& x) {
  if (name == "gelu_new")  // transformers' NewGELUActivation, written out as it does
    return 0.5 * x * (1.0 + torch::tanh(std::sqrt(2.0 / 3.14159265358979323846) * (x + 0.044715 * torch::pow(x, 3.0))));
  if (name == "gelu") return torch::gelu(x);
  if (name == "silu") return torch::silu(x);
  return torch::relu(x);
}

}  // namespace

T5LinearImpl::T5LinearImpl(std::int64_t in, std::int64_t out, const torch::TensorOptions& opt, double init_std) {
  weight = register_parameter("weight", make_weight({out, in}, opt, init_std), /*requires_grad=*/false);
}

torch::Tensor T5LinearImpl::forward(const torch::Tensor& x) { return torch::nn::functional::linear(x, weight); }

T5LayerNormImpl::T5LayerNormImpl(std::int64_t d, double eps_, const torch::TensorOptions& opt, bool init) : eps(eps_) {
  weight = register_parameter("weight", make_weight({d}, opt, init ? 0.1 : 0.0, 1.0), /*requires_grad=*/false);
}

torch::Tensor T5LayerNormImpl::forward(const torch::Tensor& x) {
  // RMS norm; the variance in fp32 whatever the input
  auto variance = x.to(torch::kFloat32).pow(2).mean(-1, /*keepdim=*/true);
  auto h = x * torch::rsqrt(variance + eps);
  if (weight.scalar_type() == torch::kHalf || weight.scalar_type() == torch::kBFloat16) h = h.to(weight.scalar_type());
  return weight * h;
}

T5AttentionImpl::T5AttentionImpl(const T5Config& c, bool has_relative_bias, const torch::TensorOptions& opt, bool init)
    : cfg(c) {
  const auto inner = c.inner_dim();
  // transformers' T5 initialisation (Mesh TensorFlow: the 1/sqrt(d_kv) scale folded into q)
  auto std_of = [&](double fan) { return init ? 1.0 / std::sqrt(fan) : 0.0; };
  q = register_module("q", T5Linear(c.d_model, inner, opt, std_of(double(c.d_model) * c.d_kv)));
  k = register_module("k", T5Linear(c.d_model, inner, opt, std_of(double(c.d_model))));
  v = register_module("v", T5Linear(c.d_model, inner, opt, std_of(double(c.d_model))));
  o = register_module("o", T5Linear(inner, c.d_model, opt, std_of(double(inner))));
  if (has_relative_bias)
    relative_attention_bias =
        register_weight(*this, "relative_attention_bias",
                        make_weight({c.relative_attention_num_buckets, c.num_heads}, opt, std_of(double(c.d_model))));
}

torch::Tensor T5AttentionImpl::compute_bias(std::int64_t q_len, std::int64_t k_len) {
  // transformers' T5Attention._relative_position_bucket, bidirectional (the encoder)
  auto lopt = torch::TensorOptions().dtype(torch::kInt64).device(relative_attention_bias.device());
  auto relative = torch::arange(k_len, lopt).unsqueeze(0) - torch::arange(q_len, lopt).unsqueeze(1);
  const std::int64_t half = cfg.relative_attention_num_buckets / 2;
  auto buckets = (relative > 0).to(torch::kInt64) * half;
  auto distance = relative.abs();
  const std::int64_t max_exact = half / 2;
  auto is_small = distance < max_exact;
  auto large = max_exact + (torch::log(distance.to(torch::kFloat32) / max_exact) /
                            std::log(double(cfg.relative_attention_max_distance) / max_exact) * (half - max_exact))
                               .to(torch::kInt64);
  large = torch::min(large, torch::full_like(large, half - 1));
  buckets = buckets + torch::where(is_small, distance, large);
  auto values = torch::embedding(relative_attention_bias, buckets);  // (q, k, heads)
  return values.permute({2, 0, 1}).unsqueeze(0);
}

torch::Tensor T5AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& bias) {
  const auto B = x.size(0);
  auto heads = [&](const torch::Tensor& t) { return t.view({B, -1, cfg.num_heads, cfg.d_kv}).transpose(1, 2); };
  auto qh = heads(q(x)), kh = heads(k(x)), vh = heads(v(x));
  auto scores = torch::matmul(qh, kh.transpose(3, 2));  // no 1/sqrt(d_kv): T5
  scores += bias;
  auto weights = torch::softmax(scores.to(torch::kFloat32), -1).to(scores.scalar_type());
  auto out = torch::matmul(weights, vh).transpose(1, 2).contiguous().view({B, -1, cfg.inner_dim()});
  return o(out);
}

T5DenseActDenseImpl::T5DenseActDenseImpl(const T5Config& c, const torch::TensorOptions& opt,
                                         const torch::TensorOptions& wo_opt, bool init)
    : cfg(c) {
  const double wi_std = init ? 1.0 / std::sqrt(double(c.d_model)) : 0.0;
  const double wo_std = init ? 1.0 / std::sqrt(double(c.d_ff)) : 0.0;
  if (c.is_gated_act) {
    wi_0 = register_module("wi_0", T5Linear(c.d_model, c.d_ff, opt, wi_std));
    wi_1 = register_module("wi_1", T5Linear(c.d_model, c.d_ff, opt, wi_std));
  } else {
    wi = register_module("wi", T5Linear(c.d_model, c.d_ff, opt, wi_std));
  }
  wo = register_module("wo", T5Linear(c.d_ff, c.d_model, wo_opt, wo_std));
}

torch::Tensor T5DenseActDenseImpl::forward(const torch::Tensor& x) {
  auto h = cfg.is_gated_act ? activation(cfg.dense_act_fn, wi_0(x)) * wi_1(x) : activation(cfg.dense_act_fn, wi(x));
  // transformers: wo may be kept in fp32 (_keep_in_fp32_modules); its input follows it
  if (h.scalar_type() != wo->weight.scalar_type()) h = h.to(wo->weight.scalar_type());
  return wo(h);
}

T5BlockImpl::T5BlockImpl(const T5Config& c, bool has_relative_bias, const torch::TensorOptions& opt,
                         const torch::TensorOptions& wo_opt, bool init) {
  auto layer = register_module("layer", torch::nn::ModuleList());
  auto l0 = std::make_shared<torch::nn::Module>();
  attn_norm = l0->register_module("layer_norm", T5LayerNorm(c.d_model, c.layer_norm_epsilon, opt, init));
  attention = l0->register_module("SelfAttention", T5Attention(c, has_relative_bias, opt, init));
  auto l1 = std::make_shared<torch::nn::Module>();
  ff_norm = l1->register_module("layer_norm", T5LayerNorm(c.d_model, c.layer_norm_epsilon, opt, init));
  ff = l1->register_module("DenseReluDense", T5DenseActDense(c, opt, wo_opt, init));
  layer->push_back(l0);
  layer->push_back(l1);
}

torch::Tensor T5BlockImpl::forward(const torch::Tensor& x, const torch::Tensor& bias) {
  // transformers' T5LayerSelfAttention and T5LayerFF (pre-norm residuals); under fp16 with
  // an fp32 wo the sum of the feed-forward residual is fp32 (type promotion), as there
  auto h = clamp_fp16(x + attention(attn_norm(x), bias));
  return clamp_fp16(h + ff(ff_norm(h)));
}

T5EncoderModelImpl::T5EncoderModelImpl(const T5Config& c, torch::Dtype dtype_, torch::Device device, bool init)
    : cfg(c), dtype(dtype_) {
  const auto opt = torch::TensorOptions().dtype(dtype).device(device);
  // transformers' T5PreTrainedModel._keep_in_fp32_modules = ["wo"], applied to fp16 loads
  const auto wo_opt = dtype == torch::kHalf ? opt.dtype(torch::kFloat32) : opt;
  shared = register_weight(*this, "shared", make_weight({c.vocab_size, c.d_model}, opt, init ? 1.0 : 0.0));
  auto encoder = register_module("encoder", std::make_shared<torch::nn::Module>());
  block = encoder->register_module("block", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < c.num_layers; ++i) block->push_back(T5Block(c, i == 0, opt, wo_opt, init));
  final_layer_norm =
      encoder->register_module("final_layer_norm", T5LayerNorm(c.d_model, c.layer_norm_epsilon, opt, init));
}

torch::Tensor T5EncoderModelImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask) {
  if (input_ids.dim() != 2) fail("T5 encoder: input_ids must be (batch, length), got {} dimensions", input_ids.dim());
  if (attention_mask.defined() && attention_mask.sizes() != input_ids.sizes())
    fail("T5 encoder: attention_mask must have the shape of input_ids");
  const auto B = input_ids.size(0), L = input_ids.size(1);
  auto ids = input_ids.to(shared.device(), torch::kInt64);
  auto x = torch::embedding(shared, ids);
  // the first block's relative position bias, plus the padding mask, shared by every block
  auto bias = block->at<T5BlockImpl>(0).attention->compute_bias(L, L);
  if (attention_mask.defined()) {
    auto m = attention_mask.to(shared.device(), dtype).reshape({B, 1, 1, L});
    bias = bias + (1.0 - m) * finfo_min(dtype);
  }
  for (std::size_t i = 0; i < block->size(); ++i) x = block->at<T5BlockImpl>(i).forward(x, bias);
  return final_layer_norm(x);
}

T5EncoderModel load_t5_encoder(const std::string& dir, torch::Dtype dtype, torch::Device device) {
  const auto cfg_path = (fs::path(dir) / "config.json").string();
  std::error_code ec;
  if (!fs::is_regular_file(cfg_path, ec)) fail("{}: missing (the T5 text encoder's config)", cfg_path);
  auto c = ConfigView::load(cfg_path);
  auto cfg = T5Config::from(c);
  auto w = WeightFiles::in_folder(dir, "model");
  T5EncoderModel m(cfg, dtype, device, /*init=*/false);
  LoadOptions lo;
  // encoder.embed_tokens is tied to shared: either may be stored
  if (w.has("shared.weight"))
    lo.ignored_prefixes.insert("encoder.embed_tokens.");
  else
    lo.renames["encoder.embed_tokens.weight"] = "shared.weight";
  // a whole T5 checkpoint: its decoder and LM head are not used
  if (c.has("architectures"))
    for (const auto& a : c.get_string_list("architectures"))
      if (a != "T5EncoderModel") lo.ignored_prefixes.insert({"decoder.", "lm_head."});
  load_weights(*m, w, lo);
  m->eval();
  return m;
}

}  // namespace catimage
