#pragma once
// diffusers' PatchEmbed as PixArt uses it: a patch_size x patch_size strided convolution
// ("proj") turning latents into row-major tokens, plus the fixed 2-D sin-cos position
// embedding of get_2d_sincos_pos_embed (computed, never loaded: diffusers keeps it as a
// non-persistent buffer) for the grid the input has, with the base size of the configured
// sample size and the interpolation scale — for non-square inputs too.
#include <torch/torch.h>

#include <cstdint>

namespace catimage {

// get_2d_sincos_pos_embed(embed_dim, (grid_h, grid_w), base_size, interpolation_scale) as
// diffusers computes it (positions in float32, frequencies and sin/cos in float64): token
// i * grid_w + j gets sin/cos of its column position in the first embed_dim/2 values and of
// its row position in the rest. (grid_h * grid_w, embed_dim) float32 on the CPU.
torch::Tensor sincos_pos_embed_2d(std::int64_t embed_dim, std::int64_t grid_h, std::int64_t grid_w,
                                  std::int64_t base_size, double interpolation_scale);

struct PatchEmbedOptions {
  std::int64_t sample_size = 0;  // the latent height = width the model was configured for
  std::int64_t patch_size = 2, in_channels = 4, embed_dim = 0;
  double interpolation_scale = 1;
};

struct PatchEmbedImpl : torch::nn::Module {
  explicit PatchEmbedImpl(const PatchEmbedOptions& o);
  // (B, C, H, W) latents, H and W multiples of patch_size -> (B, H/p * W/p, embed_dim).
  torch::Tensor forward(const torch::Tensor& latent);

  PatchEmbedOptions opt;
  torch::nn::Conv2d proj{nullptr};

 private:
  torch::Tensor pos_embed_;  // (1, N, D) float32 for the last grid and device seen
  std::int64_t grid_h_ = -1, grid_w_ = -1;
};
TORCH_MODULE(PatchEmbed);

}  // namespace catimage
