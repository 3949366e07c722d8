#include "catimage/diffusion/models/clip_text_model.hpp"

#include "catimage/diffusion/models/attention.hpp"

namespace catimage {

ClipTextConfig ClipTextConfig::from(const ConfigView& c) {
  ClipTextConfig t;
  // A full CLIPConfig nests the text part under "text_config".
  t.vocab_size = c.get_int("vocab_size", 49408);
  t.hidden_size = c.get_int("hidden_size", 512);
  t.intermediate_size = c.get_int("intermediate_size", 2048);
  t.layers = c.get_int("num_hidden_layers", 12);
  t.heads = c.get_int("num_attention_heads", 8);
  t.max_positions = c.get_int("max_position_embeddings", 77);
  t.projection_dim = c.get_int("projection_dim", 512);
  t.hidden_act = c.get_string("hidden_act", "quick_gelu");
  t.layer_norm_eps = c.get_double("layer_norm_eps", 1e-5);
  t.eos_token_id = c.get_int("eos_token_id", 2);
  if (t.hidden_act != "quick_gelu" && t.hidden_act != "gelu")
    c.bad("hidden_act", "\"" + t.hidden_act + "\" is not supported (quick_gelu, gelu)");
  if (t.heads <= 0 || t.hidden_size % t.heads != 0) c.bad("num_attention_heads", "must divide hidden_size");
  std::string arch;
  if (c.has("architectures") && c.raw()["architectures"].is_array() && !c.raw()["architectures"].empty() &&
      c.raw()["architectures"][0].is_string())
    arch = c.raw()["architectures"][0].get<std::string>();
  if (!arch.empty() && arch != "CLIPTextModel" && arch != "CLIPTextModelWithProjection")
    c.bad("architectures", "\"" + arch + "\" is not a CLIP text encoder (CLIPTextModel, CLIPTextModelWithProjection)");
  t.with_projection = arch == "CLIPTextModelWithProjection";
  return t;
}

ClipEncoderLayerImpl::ClipEncoderLayerImpl(const ClipTextConfig& c) : heads(c.heads), quick_gelu(c.hidden_act == "quick_gelu") {
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
  h = out_proj(multihead_attention(q_proj(h), k_proj(h), v_proj(h), heads, /*causal=*/true));
  auto x1 = x + h;
  h = fc1(layer_norm2(x1));
  h = quick_gelu ? h * torch::sigmoid(1.702 * h) : torch::nn::functional::gelu(h);
  return x1 + fc2(h);
}

ClipTextModelImpl::ClipTextModelImpl(const ClipTextConfig& c) : cfg(c) {
  auto& tm = *register_module("text_model", std::make_shared<torch::nn::Module>());
  auto& emb = *tm.register_module("embeddings", std::make_shared<torch::nn::Module>());
  token_embedding = emb.register_module("token_embedding", torch::nn::Embedding(c.vocab_size, c.hidden_size));
  position_embedding = emb.register_module("position_embedding", torch::nn::Embedding(c.max_positions, c.hidden_size));
  auto& enc = *tm.register_module("encoder", std::make_shared<torch::nn::Module>());
  auto list = enc.register_module("layers", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < c.layers; ++i) {
    layers.emplace_back(c);
    list->push_back(layers.back());
  }
  final_layer_norm = tm.register_module(
      "final_layer_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)));
  if (c.with_projection)
    text_projection = register_module(
        "text_projection", torch::nn::Linear(torch::nn::LinearOptions(c.hidden_size, c.projection_dim).bias(false)));
}

ClipTextOutput ClipTextModelImpl::forward(const torch::Tensor& ids) {
  const auto L = ids.size(1);
  auto pos = torch::arange(L, torch::TensorOptions().dtype(torch::kInt64).device(ids.device()));
  auto x = token_embedding(ids) + position_embedding(pos).unsqueeze(0);
  ClipTextOutput out;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    if (i + 1 == layers.size()) out.penultimate = x;
    x = layers[i](x);
  }
  if (layers.empty()) out.penultimate = x;
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
