#pragma once
// The UNet's up blocks, as diffusers' get_up_block builds them: UpBlock2D (resnets over the
// output concatenated with the down blocks' skips, upsamplers) and CrossAttnUpBlock2D (a
// Transformer2DModel after each resnet).
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "catimage/diffusion/models/block_2d_layers.hpp"

namespace catimage {

struct UpBlock2DOptions : Block2DOptions {
  std::int64_t prev_output_channel = 0, out_channels = 0;
  bool add_upsample = true;
};

struct CrossAttnUpBlock2DOptions : UpBlock2DOptions, CrossAttentionOptions {};

// What both up blocks compute; `context` is used by the blocks with attention.
class UNetUpBlock : public Block2DLayers {
 public:
  // Consumes its skips from the back of `skips`; `upsample_size` empty: twice the size.
  torch::Tensor forward(torch::Tensor x, std::vector<torch::Tensor>& skips, const torch::Tensor& temb,
                        const torch::Tensor& context, const std::vector<std::int64_t>& upsample_size);
  torch::nn::ModuleList upsamplers{nullptr};

 protected:
  UNetUpBlock(const UpBlock2DOptions& o, const CrossAttentionOptions* attention);
};

struct UpBlock2DImpl : UNetUpBlock {
  explicit UpBlock2DImpl(const UpBlock2DOptions& o) : UNetUpBlock(o, nullptr) {}
};
TORCH_MODULE(UpBlock2D);

struct CrossAttnUpBlock2DImpl : UNetUpBlock {
  explicit CrossAttnUpBlock2DImpl(const CrossAttnUpBlock2DOptions& o) : UNetUpBlock(o, &o) {}
};
TORCH_MODULE(CrossAttnUpBlock2D);

// diffusers' get_up_block for the types above; another type is an error listing them.
std::vector<std::string> up_block_types();
std::shared_ptr<UNetUpBlock> get_up_block(const std::string& type, const CrossAttnUpBlock2DOptions& o);

}  // namespace catimage
