#include "catimage/diffusion/models/unet_2d_blocks.hpp"

namespace catimage {

UNetDownBlockImpl::UNetDownBlockImpl(std::int64_t in, std::int64_t out, std::int64_t temb, std::int64_t num_layers,
                                     bool add_downsample, std::int64_t groups, double eps, const AttentionSpec& a,
                                     std::int64_t downsample_padding) {
  resnets = register_module("resnets", torch::nn::ModuleList());
  if (a.enabled) attentions = register_module("attentions", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < num_layers; ++i) {
    res.emplace_back(i == 0 ? in : out, out, temb, groups, eps);
    resnets->push_back(res.back());
    if (a.enabled) {
      attn.emplace_back(out, a.heads, a.layers, a.cross_dim, groups, a.linear_projection);
      attentions->push_back(attn.back());
    }
  }
  if (add_downsample) {
    downsamplers = register_module("downsamplers", torch::nn::ModuleList());
    down = Downsample2D(out, downsample_padding);
    downsamplers->push_back(down);
  }
}

torch::Tensor UNetDownBlockImpl::forward(torch::Tensor x, const torch::Tensor& temb, const torch::Tensor& context,
                                         std::vector<torch::Tensor>& skips) {
  for (std::size_t i = 0; i < res.size(); ++i) {
    x = res[i](x, temb);
    if (!attn.empty()) x = attn[i](x, context);
    skips.push_back(x);
  }
  if (down) {
    x = down(x);
    skips.push_back(x);
  }
  return x;
}

UNetMidBlockImpl::UNetMidBlockImpl(std::int64_t channels, std::int64_t temb, std::int64_t groups, double eps,
                                   const AttentionSpec& a) {
  resnets = register_module("resnets", torch::nn::ModuleList());
  attentions = register_module("attentions", torch::nn::ModuleList());
  res.emplace_back(channels, channels, temb, groups, eps);
  resnets->push_back(res.back());
  attn.emplace_back(channels, a.heads, a.layers, a.cross_dim, groups, a.linear_projection);
  attentions->push_back(attn.back());
  res.emplace_back(channels, channels, temb, groups, eps);
  resnets->push_back(res.back());
}

torch::Tensor UNetMidBlockImpl::forward(torch::Tensor x, const torch::Tensor& temb, const torch::Tensor& context) {
  x = res[0](x, temb);
  x = attn[0](x, context);
  return res[1](x, temb);
}

UNetUpBlockImpl::UNetUpBlockImpl(std::int64_t in, std::int64_t prev_out, std::int64_t out, std::int64_t temb,
                                 std::int64_t num_layers, bool add_upsample, std::int64_t groups, double eps,
                                 const AttentionSpec& a) {
  resnets = register_module("resnets", torch::nn::ModuleList());
  if (a.enabled) attentions = register_module("attentions", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < num_layers; ++i) {
    const auto skip = i == num_layers - 1 ? in : out;
    const auto res_in = i == 0 ? prev_out : out;
    res.emplace_back(res_in + skip, out, temb, groups, eps);
    resnets->push_back(res.back());
    if (a.enabled) {
      attn.emplace_back(out, a.heads, a.layers, a.cross_dim, groups, a.linear_projection);
      attentions->push_back(attn.back());
    }
  }
  if (add_upsample) {
    upsamplers = register_module("upsamplers", torch::nn::ModuleList());
    up = Upsample2D(out);
    upsamplers->push_back(up);
  }
}

torch::Tensor UNetUpBlockImpl::forward(torch::Tensor x, std::vector<torch::Tensor>& skips, const torch::Tensor& temb,
                                       const torch::Tensor& context, const std::vector<std::int64_t>& upsample_size) {
  for (std::size_t i = 0; i < res.size(); ++i) {
    x = torch::cat({x, skips.back()}, 1);
    skips.pop_back();
    x = res[i](x, temb);
    if (!attn.empty()) x = attn[i](x, context);
  }
  if (up) x = up(x, upsample_size);
  return x;
}

}  // namespace catimage
