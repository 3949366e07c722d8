#pragma once
// What diffusers' 2D blocks (the UNet's and the VAE's) share: a `resnets` list and, in the
// blocks with attention, an `attentions` list, built in diffusers' order (seeded random
// weights depend on it) and reached by index with their types.
#include <torch/torch.h>

#include <memory>

#include "catimage/diffusion/models/resnet.hpp"
#include "catimage/diffusion/models/transformer_2d.hpp"

namespace catimage {

// diffusers' block arguments for the resnets (resnet_time_scale_shift "default", SiLU,
// output_scale_factor 1, no dropout).
struct Block2DOptions {
  std::int64_t in_channels = 0;
  std::int64_t temb_channels = 0;  // 0: no time embedding (the VAE's blocks)
  std::int64_t num_layers = 1;
  std::int64_t resnet_groups = 32;
  double resnet_eps = 1e-6;
};

// diffusers' cross-attention block arguments (one Transformer2DModel after each resnet).
struct CrossAttentionOptions {
  std::int64_t num_attention_heads = 1;
  std::int64_t transformer_layers_per_block = 1;
  std::int64_t cross_attention_dim = 1280;
  bool use_linear_projection = false;
};

class Block2DLayers : public torch::nn::Module {
 public:
  torch::nn::ModuleList resnets;
  torch::nn::ModuleList attentions;  // registered by the first add_attention
  bool has_attention() const { return !attentions->is_empty(); }

 protected:
  Block2DLayers();
  void add_resnet(std::int64_t in_channels, std::int64_t out_channels, const Block2DOptions& o);
  void add_attention(std::shared_ptr<torch::nn::Module> attention);
  // The Transformer2DModel of a cross-attention block with `channels` channels.
  void add_transformer(std::int64_t channels, const CrossAttentionOptions& a, std::int64_t groups);
  ResnetBlock2DImpl& resnet(std::size_t i) { return resnets->at<ResnetBlock2DImpl>(i); }
  template <class T>
  T& attention(std::size_t i) {
    return attentions->at<T>(i);
  }
};

}  // namespace catimage
