#include "catimage/diffusion/models/t5_config.hpp"

namespace catimage {

T5Config T5Config::from(const ConfigView& c) {
  T5Config t;
  c.read("vocab_size", t.vocab_size);
  c.read("d_model", t.d_model);
  c.read("d_kv", t.d_kv);
  c.read("d_ff", t.d_ff);
  c.read("num_layers", t.num_layers);
  c.read("num_heads", t.num_heads);
  c.read("relative_attention_num_buckets", t.relative_attention_num_buckets);
  c.read("relative_attention_max_distance", t.relative_attention_max_distance);
  c.read("layer_norm_epsilon", t.layer_norm_epsilon);
  c.read("feed_forward_proj", t.feed_forward_proj);

  // transformers' T5Config: "gated-ACT" or "ACT"; "gated-gelu" means gelu_new (tanh approximation)
  const auto dash = t.feed_forward_proj.find('-');
  const std::string head = t.feed_forward_proj.substr(0, dash);
  const std::string act = dash == std::string::npos ? t.feed_forward_proj : t.feed_forward_proj.substr(dash + 1);
  if (dash != std::string::npos && (head != "gated" || act.find('-') != std::string::npos))
    c.bad("feed_forward_proj", "\"" + t.feed_forward_proj + "\" is not of the form \"gated-ACT\" or \"ACT\"");
  t.is_gated_act = dash != std::string::npos;
  t.dense_act_fn = t.feed_forward_proj == "gated-gelu" ? "gelu_new" : act;
  // config.json's own values are set on the config after that in transformers, so they win
  c.read("dense_act_fn", t.dense_act_fn);
  c.read("is_gated_act", t.is_gated_act);
  if (t.dense_act_fn != "relu" && t.dense_act_fn != "gelu" && t.dense_act_fn != "gelu_new" && t.dense_act_fn != "silu")
    c.bad(c.has("dense_act_fn") ? "dense_act_fn" : "feed_forward_proj",
          "activation \"" + t.dense_act_fn + "\" is not supported (relu, gelu, gelu_new, silu)");

  for (const auto& [key, v] : {std::pair<const char*, std::int64_t>{"vocab_size", t.vocab_size},
                               {"d_model", t.d_model},
                               {"d_kv", t.d_kv},
                               {"d_ff", t.d_ff},
                               {"num_heads", t.num_heads}})
    if (v <= 0) c.bad(key, "must be positive");
  if (t.num_layers < 1) c.bad("num_layers", "must be at least 1 (the first block holds the position bias)");
  // bidirectional buckets: half per direction, half of those exact, the rest logarithmic
  if (t.relative_attention_num_buckets < 4 || t.relative_attention_num_buckets % 2 != 0)
    c.bad("relative_attention_num_buckets", "must be an even number >= 4");
  if (t.relative_attention_max_distance <= t.relative_attention_num_buckets / 4)
    c.bad("relative_attention_max_distance", "must exceed relative_attention_num_buckets / 4");
  if (!(t.layer_norm_epsilon >= 0)) c.bad("layer_norm_epsilon", "must be >= 0");

  if (c.has("model_type") && c.get_string("model_type") != "t5")
    c.bad("model_type", "\"" + c.get_string("model_type") + "\" is not supported (t5)");
  if (c.has("architectures")) {
    const auto archs = c.get_string_list("architectures");
    for (const auto& a : archs)
      if (a != "T5EncoderModel" && a != "T5ForConditionalGeneration" && a != "T5Model")
        c.bad("architectures", "\"" + a + "\" is not a T5 model (T5EncoderModel, T5ForConditionalGeneration, T5Model)");
  }
  // an encoder: the decoder's causal self-attention and cross-attention are not built
  c.require_defaults({{"is_decoder", false}, {"add_cross_attention", false}, {"pruned_heads", json::object()}});
  return t;
}

T5Config T5Config::load(const std::string& config_json) { return from(ConfigView::load(config_json)); }

}  // namespace catimage
