#include "catimage/diffusion/models/unet_2d_up_blocks.hpp"

#include "block_table.hpp"

namespace catimage {

UNetUpBlock::UNetUpBlock(const UpBlock2DOptions& o, const CrossAttentionOptions* attention) {
  for (std::int64_t i = 0; i < o.num_layers; ++i) {
    const auto skip = i == o.num_layers - 1 ? o.in_channels : o.out_channels;
    const auto resnet_in = i == 0 ? o.prev_output_channel : o.out_channels;
    add_resnet(resnet_in + skip, o.out_channels, o);
    if (attention) add_transformer(o.out_channels, *attention, o.resnet_groups);
  }
  if (o.add_upsample) {
    upsamplers = register_module("upsamplers", torch::nn::ModuleList());
    upsamplers->push_back(Upsample2D(o.out_channels));
  }
}

torch::Tensor UNetUpBlock::forward(torch::Tensor x, std::vector<torch::Tensor>& skips, const torch::Tensor& temb,
                                   const torch::Tensor& context, const std::vector<std::int64_t>& upsample_size) {
  for (std::size_t i = 0; i < resnets->size(); ++i) {
    x = torch::cat({x, skips.back()}, 1);
    skips.pop_back();
    x = resnet(i).forward(x, temb);
    if (has_attention()) x = attention<Transformer2DModelImpl>(i).forward(x, context);
  }
  if (upsamplers) x = upsamplers->at<Upsample2DImpl>(0).forward(x, upsample_size);
  return x;
}

namespace {

const BlockTable<UNetUpBlock, CrossAttnUpBlock2DOptions> kUpBlocks = {
    {"CrossAttnUpBlock2D", [](const auto& o) { return CrossAttnUpBlock2D(o).ptr(); }},
    {"UpBlock2D", [](const auto& o) { return UpBlock2D(o).ptr(); }}};

}  // namespace

std::vector<std::string> up_block_types() { return block_names(kUpBlocks); }

std::shared_ptr<UNetUpBlock> get_up_block(const std::string& type, const CrossAttnUpBlock2DOptions& o) {
  return make_block(kUpBlocks, "up", type, o);
}

}  // namespace catimage
