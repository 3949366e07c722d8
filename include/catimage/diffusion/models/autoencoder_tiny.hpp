#pragma once
// diffusers' AutoencoderTiny (TAESD): its config and its decoder (the encoder is never built).
#include <torch/torch.h>

#include <vector>

#include "catimage/io/config_view.hpp"

namespace catimage {

// The config.json keys this runtime reads; the member initialisers are diffusers' defaults.
struct AutoencoderTinyConfig {
  std::int64_t latent_channels = 4, out_channels = 3, upsampling_scaling_factor = 2;
  std::vector<int> decoder_block_out_channels = {64, 64, 64, 64}, num_decoder_blocks = {3, 3, 3, 1};
  double scaling_factor = 1.0;

  static AutoencoderTinyConfig from(const ConfigView& c);
  int spatial_factor() const;  // image pixels per latent
};

struct AutoencoderTinyBlockImpl : torch::nn::Module {
  explicit AutoencoderTinyBlockImpl(std::int64_t channels);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Sequential conv{nullptr};
};
TORCH_MODULE(AutoencoderTinyBlock);

struct DecoderTinyImpl : torch::nn::Module {
  explicit DecoderTinyImpl(const AutoencoderTinyConfig& c);
  torch::Tensor forward(const torch::Tensor& z);  // -> [-1, 1]
  torch::nn::Sequential layers{nullptr};
};
TORCH_MODULE(DecoderTiny);

}  // namespace catimage
