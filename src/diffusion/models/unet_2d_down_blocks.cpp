#include "catimage/diffusion/models/unet_2d_down_blocks.hpp"

#include "block_table.hpp"

namespace catimage {

UNetDownBlock::UNetDownBlock(const DownBlock2DOptions& o, const CrossAttentionOptions* attention) {
  for (std::int64_t i = 0; i < o.num_layers; ++i) {
    add_resnet(i == 0 ? o.in_channels : o.out_channels, o.out_channels, o);
    if (attention) add_transformer(o.out_channels, *attention, o.resnet_groups);
  }
  if (o.add_downsample) {
    downsamplers = register_module("downsamplers", torch::nn::ModuleList());
    downsamplers->push_back(Downsample2D(o.out_channels, o.downsample_padding));
  }
}

torch::Tensor UNetDownBlock::forward(torch::Tensor x, const torch::Tensor& temb, const torch::Tensor& context,
                                     std::vector<torch::Tensor>& skips) {
  for (std::size_t i = 0; i < resnets->size(); ++i) {
    x = resnet(i).forward(x, temb);
    if (has_attention()) x = attention<Transformer2DModelImpl>(i).forward(x, context);
    skips.push_back(x);
  }
  if (downsamplers) {
    x = downsamplers->at<Downsample2DImpl>(0).forward(x);
    skips.push_back(x);
  }
  return x;
}

namespace {

const BlockTable<UNetDownBlock, CrossAttnDownBlock2DOptions> kDownBlocks = {
    {"CrossAttnDownBlock2D", [](const auto& o) { return CrossAttnDownBlock2D(o).ptr(); }},
    {"DownBlock2D", [](const auto& o) { return DownBlock2D(o).ptr(); }}};

}  // namespace

std::vector<std::string> down_block_types() { return block_names(kDownBlocks); }

std::shared_ptr<UNetDownBlock> get_down_block(const std::string& type, const CrossAttnDownBlock2DOptions& o) {
  return make_block(kDownBlocks, "down", type, o);
}

}  // namespace catimage
