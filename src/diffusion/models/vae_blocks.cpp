#include "catimage/diffusion/models/vae_blocks.hpp"

namespace catimage {

torch::Tensor DownEncoderBlock2DImpl::forward(const torch::Tensor& x) {
  std::vector<torch::Tensor> skips;  // the encoder keeps none
  return UNetDownBlock::forward(x, {}, {}, skips);
}

UpDecoderBlock2DImpl::UpDecoderBlock2DImpl(const UpDecoderBlock2DOptions& o) {
  for (std::int64_t i = 0; i < o.num_layers; ++i)
    add_resnet(i == 0 ? o.in_channels : o.out_channels, o.out_channels, o);
  if (o.add_upsample) {
    upsamplers = register_module("upsamplers", torch::nn::ModuleList());
    upsamplers->push_back(Upsample2D(o.out_channels));
  }
}

torch::Tensor UpDecoderBlock2DImpl::forward(torch::Tensor x) {
  for (std::size_t i = 0; i < resnets->size(); ++i) x = resnet(i).forward(x);
  if (upsamplers) x = upsamplers->at<Upsample2DImpl>(0).forward(x);
  return x;
}

UNetMidBlock2DImpl::UNetMidBlock2DImpl(const UNetMidBlock2DOptions& o) {
  const auto channels = o.in_channels;
  AttentionOptions attention;
  attention.query_dim = channels;
  attention.dim_head = o.attention_head_dim > 0 ? o.attention_head_dim : channels;
  attention.heads = channels / attention.dim_head;
  attention.bias = true;
  attention.norm_num_groups = o.resnet_groups;
  attention.eps = o.resnet_eps;
  add_resnet(channels, channels, o);
  for (std::int64_t i = 0; i < o.num_layers; ++i) {
    if (o.add_attention) add_attention(Attention(attention).ptr());
    add_resnet(channels, channels, o);
  }
}

torch::Tensor UNetMidBlock2DImpl::forward(torch::Tensor x) {
  x = resnet(0).forward(x);
  for (std::size_t i = 1; i < resnets->size(); ++i) {
    if (has_attention()) x = attention<AttentionImpl>(i - 1).forward_spatial(x);
    x = resnet(i).forward(x);
  }
  return x;
}

}  // namespace catimage
