#include "catimage/diffusion/models/clip_text_model.hpp"

#include "catimage/diffusion/models/attention.hpp"

namespace catimage {

ClipTextConfig ClipTextConfig::from(const ConfigView& c) {
  ClipTextConfig t;
  c.read("vocab_size", t.vocab_size);
  c.read("hidden_size", t.hidden_size);
  c.read("intermediate_size", t.intermediate_size);
  c.read("num_hidden_layers", t.num_hidden_layers);
  c.read("num_attention_heads", t.num_attention_heads);
  c.read("max_position_embeddings", t.max_position_embeddings);
  c.read("projection_dim", t.projection_dim);
  c.read("hidden_act", t.hidden_act);
  c.read("layer_norm_eps", t.layer_norm_eps);
  c.read("eos_token_id", t.eos_token_id);
  if (t.hidden_act != "quick_gelu" && t.hidden_act != "gelu")
    c.bad("hidden_act", "\"" + t.hidden_act + "\" is not supported (quick_gelu, gelu)");
  if (t.num_attention_heads <= 0 || t.hidden_size % t.num_attention_heads != 0)
    c.bad("num_attention_heads", "must divide hidden_size");
  std::string arch;
  if (c.has("architectures") && c.raw()["architectures"].is_array() && !c.raw()["architectures"].empty() &&
      c.raw()["architectures"][0].is_string())
    arch = c.raw()["architectures"][0].get<std::string>();
  if (!arch.empty() && arch != "CLIPTextModel" && arch != "CLIPTextModelWithProjection")
    c.bad("architectures", "\"" + arch + "\" is not a CLIP text encoder (CLIPTextModel, CLIPTextModelWithProjection)");
  t.with_projection = arch == "CLIPTextModelWithProjection";
  return t;
}

ClipEncoderLayerImpl::ClipEncoderLayerImpl(const ClipTextConfig& c)
    : heads(c.num_attention_heads), quick_gelu(c.hidden_act == "quick_gelu") {
  auto& attn = *register_module("self_attn", std::make_shared<torch::nn::Module>());
  q_proj = attn.register_module("q_proj", torch::nn::Linear(c.hidden_size, c.hidden_size));
  k_proj = attn.register_module("k_proj", torch::nn::Linear(c.hidden_size, c.hidden_size));
  v_proj = attn.register_module("v_proj", torch::nn::Linear(c.hidden_size, c.hidden_size));
  out_proj = attn.register_module("out_proj", torch::nn::Linear(c.hidden_size, c.hidden_size));
  layer_norm1 = register_module(
      "layer_norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)));
  auto& mlp = *register_module("mlp", std::make_shared<torch::nn::Module>());
  fc1 = mlp.register_module("fc1", torch::nn::Linear(c.hidden_size, c.intermediate_size));
  fc2 = mlp.register_module("fc2", torch::nn::Linear(c.intermediate_size, c.hidden_size));
  layer_norm2 = register_module(
      "layer_norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)));
}

torch::Tensor ClipEncoderLayerImpl::forward(const torch::Tensor& x) {
  auto h = layer_norm1(x);
  h = out_proj(multihead_attention(q_proj(h), k_proj(h), v_proj(h), heads, causal));
  auto x1 = x + h;
  h = fc1(layer_norm2(x1));
  h = quick_gelu ? h * torch::sigmoid(1.702 * h) : torch::nn::functional::gelu(h);
  return x1 + fc2(h);
}

ClipTextModelImpl::ClipTextModelImpl(const ClipTextConfig& c) : cfg(c) {
  auto& tm = *register_module("text_model", std::make_shared<torch::nn::Module>());
  auto& emb = *tm.register_module("embeddings", std::make_shared<torch::nn::Module>());
  token_embedding = emb.register_module("token_embedding", torch::nn::Embedding(c.vocab_size, c.hidden_size));
  position_embedding =
      emb.register_module("position_embedding", torch::nn::Embedding(c.max_position_embeddings, c.hidden_size));
  auto& enc = *tm.register_module("encoder", std::make_shared<torch::nn::Module>());
  layers = enc.register_module("layers", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(ClipEncoderLayer(c));
  final_layer_norm = tm.register_module(
      "final_layer_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)));
  if (c.with_projection)
    text_projection = register_module(
        "text_projection", torch::nn::Linear(torch::nn::LinearOptions(c.hidden_size, c.projection_dim).bias(false)));
}

ClipTextOutput ClipTextModelImpl::forward(const torch::Tensor& ids) {
  // 1. embeddings
  const auto L = ids.size(1);
  auto pos = torch::arange(L, torch::TensorOptions().dtype(torch::kInt64).device(ids.device()));
  auto x = token_embedding(ids) + position_embedding(pos).unsqueeze(0);

  // 2. encoder (causal self-attention layers)
  ClipTextOutput out;
  const auto n = layers->size();
  for (std::size_t i = 0; i < n; ++i) {
    if (i + 1 == n) out.penultimate = x;
    x = layers->at<ClipEncoderLayerImpl>(i).forward(x);
  }
  if (n == 0) out.penultimate = x;

  // 3. post-process: final layer norm, pooling at the end token, projection
  out.last_hidden_state = final_layer_norm(x);
  // transformers: legacy configs (eos_token_id == 2) pool at the highest id, others at the
  // first eos_token_id.
  torch::Tensor at = cfg.eos_token_id == 2 ? ids.argmax(-1) : (ids == cfg.eos_token_id).to(torch::kInt32).argmax(-1);
  auto rows = torch::arange(ids.size(0), torch::TensorOptions().dtype(torch::kInt64).device(ids.device()));
  out.pooled = out.last_hidden_state.index({rows, at});
  if (text_projection) out.text_embeds = text_projection(out.pooled);
  return out;
}

}  // namespace catimage
