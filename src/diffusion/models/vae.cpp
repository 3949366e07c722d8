#include "catimage/diffusion/models/vae.hpp"

namespace catimage {

namespace F = torch::nn::functional;

constexpr double kVaeEps = 1e-6;

VaeBlockImpl::VaeBlockImpl(bool down, std::int64_t in, std::int64_t out, std::int64_t num_layers, bool resample,
                           std::int64_t groups) {
  resnets = register_module("resnets", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < num_layers; ++i) {
    res.emplace_back(i == 0 ? in : out, out, 0, groups, kVaeEps);
    resnets->push_back(res.back());
  }
  if (resample) {
    samplers = register_module(down ? "downsamplers" : "upsamplers", torch::nn::ModuleList());
    if (down) {
      downsampler = Downsample2D(out, 0);
      samplers->push_back(downsampler);
    } else {
      upsampler = Upsample2D(out);
      samplers->push_back(upsampler);
    }
  }
}

torch::Tensor VaeBlockImpl::forward(torch::Tensor x) {
  for (auto& r : res) x = r(x);
  if (downsampler) x = downsampler(x);
  if (upsampler) x = upsampler(x);
  return x;
}

VaeMidBlockImpl::VaeMidBlockImpl(std::int64_t channels, std::int64_t groups, bool attention) {
  resnets = register_module("resnets", torch::nn::ModuleList());
  res.emplace_back(channels, channels, 0, groups, kVaeEps);
  resnets->push_back(res.back());
  if (attention) {
    attentions = register_module("attentions", torch::nn::ModuleList());
    attn = Attention(channels, 0, 1, channels, true, groups, kVaeEps);
    attentions->push_back(attn);
  }
  res.emplace_back(channels, channels, 0, groups, kVaeEps);
  resnets->push_back(res.back());
}

torch::Tensor VaeMidBlockImpl::forward(torch::Tensor x) {
  x = res[0](x);
  if (attn) x = attn->forward_spatial(x);
  return res[1](x);
}

VaeEncoderImpl::VaeEncoderImpl(const VaeCoderConfig& c) {
  const auto& ch = c.block_out_channels;
  conv_in = register_module("conv_in", torch::nn::Conv2d(torch::nn::Conv2dOptions(c.in_channels, ch[0], 3).padding(1)));
  down_blocks = register_module("down_blocks", torch::nn::ModuleList());
  std::int64_t out = ch[0];
  for (std::size_t i = 0; i < ch.size(); ++i) {
    const std::int64_t in = out;
    out = ch[i];
    downs.emplace_back(true, in, out, c.layers_per_block, i + 1 < ch.size(), c.groups);
    down_blocks->push_back(downs.back());
  }
  mid_block = register_module("mid_block", VaeMidBlock(ch.back(), c.groups, c.mid_attention));
  conv_norm_out = register_module("conv_norm_out",
                                  torch::nn::GroupNorm(torch::nn::GroupNormOptions(c.groups, ch.back()).eps(kVaeEps)));
  conv_out = register_module("conv_out",
                             torch::nn::Conv2d(torch::nn::Conv2dOptions(ch.back(), 2 * c.latent_channels, 3).padding(1)));
}

torch::Tensor VaeEncoderImpl::forward(torch::Tensor x) {
  x = conv_in(x);
  for (auto& d : downs) x = d(x);
  x = mid_block(x);
  return conv_out(F::silu(conv_norm_out(x)));
}

VaeDecoderImpl::VaeDecoderImpl(const VaeCoderConfig& c) {
  std::vector<int> rch(c.block_out_channels.rbegin(), c.block_out_channels.rend());
  conv_in = register_module("conv_in", torch::nn::Conv2d(torch::nn::Conv2dOptions(c.latent_channels, rch[0], 3).padding(1)));
  mid_block = register_module("mid_block", VaeMidBlock(rch[0], c.groups, c.mid_attention));
  up_blocks = register_module("up_blocks", torch::nn::ModuleList());
  std::int64_t out = rch[0];
  for (std::size_t i = 0; i < rch.size(); ++i) {
    const std::int64_t prev = out;
    out = rch[i];
    ups.emplace_back(false, prev, out, c.layers_per_block + 1, i + 1 < rch.size(), c.groups);
    up_blocks->push_back(ups.back());
  }
  conv_norm_out = register_module("conv_norm_out",
                                  torch::nn::GroupNorm(torch::nn::GroupNormOptions(c.groups, rch.back()).eps(kVaeEps)));
  conv_out = register_module("conv_out",
                             torch::nn::Conv2d(torch::nn::Conv2dOptions(rch.back(), c.out_channels, 3).padding(1)));
}

torch::Tensor VaeDecoderImpl::forward(torch::Tensor z) {
  auto x = conv_in(z);
  x = mid_block(x);
  for (auto& u : ups) x = u(x);
  return conv_out(F::silu(conv_norm_out(x)));
}

}  // namespace catimage
