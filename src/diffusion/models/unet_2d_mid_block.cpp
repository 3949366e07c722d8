#include "catimage/diffusion/models/unet_2d_mid_block.hpp"

namespace catimage {

UNetMidBlock2DCrossAttnImpl::UNetMidBlock2DCrossAttnImpl(const UNetMidBlock2DCrossAttnOptions& o) {
  add_resnet(o.in_channels, o.in_channels, o);
  for (std::int64_t i = 0; i < o.num_layers; ++i) {
    add_transformer(o.in_channels, o, o.resnet_groups);
    add_resnet(o.in_channels, o.in_channels, o);
  }
}

torch::Tensor UNetMidBlock2DCrossAttnImpl::forward(torch::Tensor x, const torch::Tensor& temb,
                                                   const torch::Tensor& context) {
  x = resnet(0).forward(x, temb);
  for (std::size_t i = 0; i < attentions->size(); ++i) {
    x = attention<Transformer2DModelImpl>(i).forward(x, context);
    x = resnet(i + 1).forward(x, temb);
  }
  return x;
}

}  // namespace catimage
