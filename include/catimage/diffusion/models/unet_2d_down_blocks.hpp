#pragma once
// The UNet's down blocks, as diffusers' get_down_block builds them: DownBlock2D (resnets,
// downsamplers) and CrossAttnDownBlock2D (a Transformer2DModel after each resnet).
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "catimage/diffusion/models/block_2d_layers.hpp"

namespace catimage {

struct DownBlock2DOptions : Block2DOptions {
  std::int64_t out_channels = 0;
  bool add_downsample = true;
  std::int64_t downsample_padding = 1;
};

struct CrossAttnDownBlock2DOptions : DownBlock2DOptions, CrossAttentionOptions {};

// What both down blocks compute; `context` is used by the blocks with attention.
class UNetDownBlock : public Block2DLayers {
 public:
  // Returns the output; appends every skip state to `skips`.
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& temb, const torch::Tensor& context,
                        std::vector<torch::Tensor>& skips);
  torch::nn::ModuleList downsamplers{nullptr};

 protected:
  UNetDownBlock(const DownBlock2DOptions& o, const CrossAttentionOptions* attention);
};

struct DownBlock2DImpl : UNetDownBlock {
  explicit DownBlock2DImpl(const DownBlock2DOptions& o) : UNetDownBlock(o, nullptr) {}
};
TORCH_MODULE(DownBlock2D);

struct CrossAttnDownBlock2DImpl : UNetDownBlock {
  explicit CrossAttnDownBlock2DImpl(const CrossAttnDownBlock2DOptions& o) : UNetDownBlock(o, &o) {}
};
TORCH_MODULE(CrossAttnDownBlock2D);

// diffusers' get_down_block for the types above; another type is an error listing them.
std::vector<std::string> down_block_types();
std::shared_ptr<UNetDownBlock> get_down_block(const std::string& type, const CrossAttnDownBlock2DOptions& o);

}  // namespace catimage
