#include "catimage/diffusion/models/autoencoder_tiny.hpp"

namespace catimage {

AutoencoderTinyConfig AutoencoderTinyConfig::from(const ConfigView& c) {
  AutoencoderTinyConfig t;
  c.read("decoder_block_out_channels", t.decoder_block_out_channels);
  c.read("num_decoder_blocks", t.num_decoder_blocks);
  if (t.decoder_block_out_channels.size() != t.num_decoder_blocks.size() || t.decoder_block_out_channels.empty())
    c.bad("num_decoder_blocks", "must have one entry per decoder_block_out_channels entry");
  c.require_defaults({{"act_fn", "relu"}, {"upsample_fn", "nearest"}});
  c.read("upsampling_scaling_factor", t.upsampling_scaling_factor);
  c.read("latent_channels", t.latent_channels);
  c.read("out_channels", t.out_channels);
  c.read("scaling_factor", t.scaling_factor);
  return t;
}

int AutoencoderTinyConfig::spatial_factor() const {
  int factor = 1;
  for (std::size_t i = 0; i + 1 < decoder_block_out_channels.size(); ++i) factor *= upsampling_scaling_factor;
  return factor;
}

AutoencoderTinyBlockImpl::AutoencoderTinyBlockImpl(std::int64_t c) {
  conv = register_module(
      "conv", torch::nn::Sequential(torch::nn::Conv2d(torch::nn::Conv2dOptions(c, c, 3).padding(1)), torch::nn::ReLU(),
                                    torch::nn::Conv2d(torch::nn::Conv2dOptions(c, c, 3).padding(1)), torch::nn::ReLU(),
                                    torch::nn::Conv2d(torch::nn::Conv2dOptions(c, c, 3).padding(1))));
}

torch::Tensor AutoencoderTinyBlockImpl::forward(const torch::Tensor& x) { return torch::relu(conv->forward(x) + x); }

DecoderTinyImpl::DecoderTinyImpl(const AutoencoderTinyConfig& c) {
  const auto& ch = c.decoder_block_out_channels;
  const auto& blocks = c.num_decoder_blocks;
  const auto up = static_cast<double>(c.upsampling_scaling_factor);
  layers = torch::nn::Sequential();
  layers->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(c.latent_channels, ch[0], 3).padding(1)));
  layers->push_back(torch::nn::ReLU());
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const bool last = i + 1 == blocks.size();
    for (int b = 0; b < blocks[i]; ++b) layers->push_back(AutoencoderTinyBlock(ch[i]));
    if (!last)
      layers->push_back(torch::nn::Upsample(
          torch::nn::UpsampleOptions().scale_factor(std::vector<double>{up, up}).mode(torch::kNearest)));
    layers->push_back(
        torch::nn::Conv2d(torch::nn::Conv2dOptions(ch[i], last ? c.out_channels : ch[i], 3).padding(1).bias(last)));
  }
  register_module("layers", layers);
}

torch::Tensor DecoderTinyImpl::forward(const torch::Tensor& z) {
  auto x = torch::tanh(z / 3) * 3;
  return layers->forward(x).mul(2).sub(1);
}

}  // namespace catimage
