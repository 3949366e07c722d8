#pragma once
// diffusers' ResnetBlock2D (norm1, conv1, time_emb_proj, norm2, conv2, conv_shortcut),
// Downsample2D (conv stride 2; padding 0 means the VAE's asymmetric (0,1,0,1) pad) and
// Upsample2D (nearest x2, or to a given size, then conv).
#include <torch/torch.h>

#include <optional>
#include <vector>

namespace catimage {

// diffusers' ResnetBlock2D arguments (time_embedding_norm "default", SiLU, no dropout).
struct ResnetBlock2DOptions {
  std::int64_t in_channels = 0, out_channels = 0;
  std::int64_t temb_channels = 512;  // 0: no time embedding (the VAE's blocks)
  std::int64_t groups = 32;
  double eps = 1e-6;
};

struct ResnetBlock2DImpl : torch::nn::Module {
  explicit ResnetBlock2DImpl(const ResnetBlock2DOptions& o);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& temb = {});

  torch::nn::GroupNorm norm1{nullptr}, norm2{nullptr};
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv_shortcut{nullptr};
  torch::nn::Linear time_emb_proj{nullptr};
};
TORCH_MODULE(ResnetBlock2D);

struct Downsample2DImpl : torch::nn::Module {
  Downsample2DImpl(std::int64_t channels, std::int64_t padding);
  torch::Tensor forward(const torch::Tensor& x);
  std::int64_t padding;
  torch::nn::Conv2d conv{nullptr};
};
TORCH_MODULE(Downsample2D);

struct Upsample2DImpl : torch::nn::Module {
  explicit Upsample2DImpl(std::int64_t channels);
  torch::Tensor forward(const torch::Tensor& x, const std::vector<std::int64_t>& size = {});
  torch::nn::Conv2d conv{nullptr};
};
TORCH_MODULE(Upsample2D);

}  // namespace catimage
