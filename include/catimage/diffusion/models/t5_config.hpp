#pragma once
// The config.json of a transformers T5 encoder (T5Config keys). Values this runtime does not
// implement are refused, naming the file and the key.
#include <cstdint>
#include <string>

#include "catimage/io/config_view.hpp"

namespace catimage {

// The member initialisers are transformers' T5Config defaults.
struct T5Config {
  std::int64_t vocab_size = 32128, d_model = 512, d_kv = 64, d_ff = 2048, num_layers = 6, num_heads = 8;
  std::int64_t relative_attention_num_buckets = 32, relative_attention_max_distance = 128;
  double layer_norm_epsilon = 1e-6;
  std::string feed_forward_proj = "relu";  // "relu" (T5), "gated-gelu" (T5 v1.1), ...
  // Derived as transformers does: dense_act_fn = the part after "gated-" ("gelu_new" for
  // "gated-gelu"); a config.json's own dense_act_fn / is_gated_act win, as in transformers.
  std::string dense_act_fn = "relu";  // relu | gelu | gelu_new | silu
  bool is_gated_act = false;

  static T5Config from(const ConfigView& c);
  static T5Config load(const std::string& config_json);
  std::int64_t inner_dim() const { return num_heads * d_kv; }
};

}  // namespace catimage
