#include "catimage/diffusion/models/block_2d_layers.hpp"

namespace catimage {

Block2DLayers::Block2DLayers() { resnets = register_module("resnets", torch::nn::ModuleList()); }

void Block2DLayers::add_resnet(std::int64_t in_channels, std::int64_t out_channels, const Block2DOptions& o) {
  resnets->push_back(
      ResnetBlock2D(ResnetBlock2DOptions{in_channels, out_channels, o.temb_channels, o.resnet_groups, o.resnet_eps}));
}

void Block2DLayers::add_attention(std::shared_ptr<torch::nn::Module> attention) {
  if (attentions->is_empty()) register_module("attentions", attentions);
  attentions->push_back(std::move(attention));
}

void Block2DLayers::add_transformer(std::int64_t channels, const CrossAttentionOptions& a, std::int64_t groups) {
  Transformer2DModelOptions t;
  t.num_attention_heads = a.num_attention_heads;
  t.attention_head_dim = channels / a.num_attention_heads;
  t.in_channels = channels;
  t.num_layers = a.transformer_layers_per_block;
  t.cross_attention_dim = a.cross_attention_dim;
  t.norm_num_groups = groups;
  t.use_linear_projection = a.use_linear_projection;
  add_attention(Transformer2DModel(t).ptr());
}

}  // namespace catimage
