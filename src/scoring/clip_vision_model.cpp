#include "catimage/scoring/clip_vision_model.hpp"

#include "catimage/util/error.hpp"

namespace catimage {

ClipVisionConfig ClipVisionConfig::from(const ConfigView& c) {
  ClipVisionConfig v;
  c.read("hidden_size", v.hidden_size);
  c.read("intermediate_size", v.intermediate_size);
  c.read("num_hidden_layers", v.num_hidden_layers);
  c.read("num_attention_heads", v.num_attention_heads);
  c.read("num_channels", v.num_channels);
  c.read("image_size", v.image_size);
  c.read("patch_size", v.patch_size);
  c.read("projection_dim", v.projection_dim);
  c.read("hidden_act", v.hidden_act);
  c.read("layer_norm_eps", v.layer_norm_eps);
  if (v.hidden_act != "quick_gelu" && v.hidden_act != "gelu")
    c.bad("hidden_act", "\"" + v.hidden_act + "\" is not supported (quick_gelu, gelu)");
  if (v.num_attention_heads <= 0 || v.hidden_size % v.num_attention_heads != 0)
    c.bad("num_attention_heads", "must divide hidden_size");
  if (v.patch_size <= 0 || v.image_size < v.patch_size) c.bad("patch_size", "must be in 1..image_size");
  if (v.num_channels <= 0) c.bad("num_channels", "must be positive");
  return v;
}

ClipTextConfig ClipVisionConfig::encoder_layer_config() const {
  ClipTextConfig t;
  t.hidden_size = hidden_size;
  t.intermediate_size = intermediate_size;
  t.num_hidden_layers = num_hidden_layers;
  t.num_attention_heads = num_attention_heads;
  t.hidden_act = hidden_act;
  t.layer_norm_eps = layer_norm_eps;
  return t;
}

ClipVisionModelImpl::ClipVisionModelImpl(const ClipVisionConfig& c) : cfg(c) {
  auto& vm = *register_module("vision_model", std::make_shared<torch::nn::Module>());
  auto& emb = *vm.register_module("embeddings", std::make_shared<torch::nn::Module>());
  class_embedding = emb.register_parameter("class_embedding", torch::randn({c.hidden_size}));
  patch_embedding = emb.register_module(
      "patch_embedding",
      torch::nn::Conv2d(
          torch::nn::Conv2dOptions(c.num_channels, c.hidden_size, c.patch_size).stride(c.patch_size).bias(false)));
  position_embedding =
      emb.register_module("position_embedding", torch::nn::Embedding(c.num_patches() + 1, c.hidden_size));
  auto ln = [&](const char* name) {
    return vm.register_module(name,
                              torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)));
  };
  pre_layrnorm = ln("pre_layrnorm");
  auto& enc = *vm.register_module("encoder", std::make_shared<torch::nn::Module>());
  layers = enc.register_module("layers", torch::nn::ModuleList());
  const auto lc = c.encoder_layer_config();
  for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) {
    ClipEncoderLayer layer(lc);
    layer->causal = false;
    layers->push_back(layer);
  }
  post_layernorm = ln("post_layernorm");
}

ClipVisionOutput ClipVisionModelImpl::forward(const torch::Tensor& pixel_values) {
  if (pixel_values.dim() != 4 || pixel_values.size(1) != cfg.num_channels || pixel_values.size(2) != cfg.image_size ||
      pixel_values.size(3) != cfg.image_size)
    fail("CLIP vision model: expected pixel values of shape (B, {}, {}, {}), got {}", cfg.num_channels, cfg.image_size,
         cfg.image_size, c10::str(pixel_values.sizes()));
  // 1. embeddings: patches, the class token in front, learned positions
  const auto B = pixel_values.size(0);
  auto x = patch_embedding(pixel_values.to(patch_embedding->weight.scalar_type()));  // (B, hidden, g, g)
  x = x.flatten(2).transpose(1, 2);                                                  // (B, g*g, hidden)
  auto cls = class_embedding.to(x.scalar_type()).view({1, 1, -1}).expand({B, 1, cfg.hidden_size});
  x = torch::cat({cls, x}, 1);
  auto pos = torch::arange(x.size(1), torch::TensorOptions().dtype(torch::kInt64).device(x.device()));
  x = pre_layrnorm(x + position_embedding(pos).unsqueeze(0));

  // 2. encoder (bidirectional self-attention layers)
  for (std::size_t i = 0; i < layers->size(); ++i) x = layers->at<ClipEncoderLayerImpl>(i).forward(x);

  // 3. pooling: the class token, layer-normed
  ClipVisionOutput out;
  out.last_hidden_state = x;
  out.pooled = post_layernorm(x.select(1, 0));
  return out;
}

}  // namespace catimage
