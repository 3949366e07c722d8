#include "catimage/diffusion/models/patch_embed.hpp"

#include <cmath>
#include <vector>

#include "catimage/util/error.hpp"

namespace catimage {

torch::Tensor sincos_pos_embed_2d(std::int64_t embed_dim, std::int64_t grid_h, std::int64_t grid_w,
                                  std::int64_t base_size, double interpolation_scale) {
  if (embed_dim % 4 != 0) fail("2-D sin-cos position embedding: the width {} is not a multiple of 4", embed_dim);
  const std::int64_t quarter = embed_dim / 4;
  // numpy: np.arange(n, dtype=float32) / (n / base_size) / interpolation_scale, in float32
  auto positions = [&](std::int64_t n) {
    std::vector<double> p(static_cast<std::size_t>(n));
    const float step = static_cast<float>(static_cast<double>(n) / static_cast<double>(base_size));
    const float scale = static_cast<float>(interpolation_scale);
    for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<double>(static_cast<float>(i) / step / scale);
    return p;
  };
  const auto ph = positions(grid_h), pw = positions(grid_w);
  std::vector<double> omega(static_cast<std::size_t>(quarter));
  for (std::int64_t k = 0; k < quarter; ++k)
    omega[k] = 1.0 / std::pow(10000.0, static_cast<double>(k) / static_cast<double>(quarter));
  auto out = torch::empty({grid_h * grid_w, embed_dim}, torch::kFloat32);
  float* o = out.data_ptr<float>();
  for (std::int64_t i = 0; i < grid_h; ++i) {
    for (std::int64_t j = 0; j < grid_w; ++j) {
      float* row = o + (i * grid_w + j) * embed_dim;
      // diffusers' meshgrid puts the column (w) coordinate first
      for (std::int64_t k = 0; k < quarter; ++k) {
        const double a = pw[j] * omega[k], b = ph[i] * omega[k];
        row[k] = static_cast<float>(std::sin(a));
        row[quarter + k] = static_cast<float>(std::cos(a));
        row[2 * quarter + k] = static_cast<float>(std::sin(b));
        row[3 * quarter + k] = static_cast<float>(std::cos(b));
      }
    }
  }
  return out;
}

PatchEmbedImpl::PatchEmbedImpl(const PatchEmbedOptions& o) : opt(o) {
  proj = register_module(
      "proj", torch::nn::Conv2d(
                  torch::nn::Conv2dOptions(o.in_channels, o.embed_dim, o.patch_size).stride(o.patch_size).bias(true)));
}

torch::Tensor PatchEmbedImpl::forward(const torch::Tensor& latent) {
  const auto p = opt.patch_size;
  const auto H = latent.size(-2), W = latent.size(-1);
  if (H % p != 0 || W % p != 0)
    fail("PixArt transformer: the latent size {}x{} is not a multiple of the patch size {}", H, W, p);
  const auto gh = H / p, gw = W / p;
  if (gh != grid_h_ || gw != grid_w_ || pos_embed_.device() != latent.device()) {
    pos_embed_ = sincos_pos_embed_2d(opt.embed_dim, gh, gw, opt.sample_size / p, opt.interpolation_scale)
                     .unsqueeze(0)
                     .to(latent.device());
    grid_h_ = gh, grid_w_ = gw;
  }
  auto x = proj(latent).flatten(2).transpose(1, 2);  // (B, N, D), row-major tokens
  return (x + pos_embed_).to(latent.scalar_type());  // added in float32, as diffusers' float buffer
}

}  // namespace catimage
