#include "catimage/diffusion/models/resnet.hpp"

namespace catimage {

namespace F = torch::nn::functional;

ResnetBlock2DImpl::ResnetBlock2DImpl(const ResnetBlock2DOptions& o) {
  const auto in = o.in_channels, out = o.out_channels, groups = o.groups;
  const auto eps = o.eps;
  norm1 = register_module("norm1", torch::nn::GroupNorm(torch::nn::GroupNormOptions(groups, in).eps(eps)));
  conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1)));
  if (o.temb_channels > 0) time_emb_proj = register_module("time_emb_proj", torch::nn::Linear(o.temb_channels, out));
  norm2 = register_module("norm2", torch::nn::GroupNorm(torch::nn::GroupNormOptions(groups, out).eps(eps)));
  conv2 = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(out, out, 3).padding(1)));
  if (in != out)
    conv_shortcut = register_module("conv_shortcut", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1)));
}

torch::Tensor ResnetBlock2DImpl::forward(const torch::Tensor& x, const torch::Tensor& temb) {
  auto h = conv1(F::silu(norm1(x)));
  if (time_emb_proj && temb.defined()) h = h + time_emb_proj(F::silu(temb)).unsqueeze(-1).unsqueeze(-1);
  h = conv2(F::silu(norm2(h)));
  return (conv_shortcut ? conv_shortcut(x) : x) + h;
}

Downsample2DImpl::Downsample2DImpl(std::int64_t channels, std::int64_t padding_) : padding(padding_) {
  conv = register_module("conv",
                         torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 3).stride(2).padding(padding)));
}

torch::Tensor Downsample2DImpl::forward(const torch::Tensor& x) {
  if (padding == 0) return conv(F::pad(x, F::PadFuncOptions({0, 1, 0, 1}).mode(torch::kConstant).value(0)));
  return conv(x);
}

Upsample2DImpl::Upsample2DImpl(std::int64_t channels) {
  conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 3).padding(1)));
}

torch::Tensor Upsample2DImpl::forward(const torch::Tensor& x, const std::vector<std::int64_t>& size) {
  auto opts = F::InterpolateFuncOptions().mode(torch::kNearest);
  if (size.empty()) {
    opts.scale_factor(std::vector<double>{2.0, 2.0});
  } else {
    opts.size(size);
  }
  auto in = x;
  // nearest upsampling of bf16 is not implemented everywhere: upcast like diffusers does
  if (in.scalar_type() == torch::kBFloat16) in = in.to(torch::kFloat32);
  auto up = F::interpolate(in, opts).to(x.scalar_type());
  return conv(up);
}

}  // namespace catimage
