#include "catimage/diffusion/models/norm_layers.hpp"

#include "catimage/util/error.hpp"

namespace catimage {

RMSNormImpl::RMSNormImpl(std::int64_t dim, double eps_, bool elementwise_affine) : eps(eps_) {
  if (elementwise_affine) weight = register_parameter("weight", torch::ones({dim}));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  auto variance = x.to(torch::kFloat32).pow(2).mean(-1, true);
  auto h = x * torch::rsqrt(variance + eps);
  if (!weight.defined()) return h.to(x.scalar_type());
  if (weight.scalar_type() == torch::kFloat16 || weight.scalar_type() == torch::kBFloat16)
    h = h.to(weight.scalar_type());
  return h * weight;
}

LayerNormOptionalBiasImpl::LayerNormOptionalBiasImpl(std::int64_t dim_, double eps_, bool elementwise_affine,
                                                     bool with_bias)
    : dim(dim_), eps(eps_) {
  if (elementwise_affine) {
    weight = register_parameter("weight", torch::ones({dim}));
    if (with_bias) bias = register_parameter("bias", torch::zeros({dim}));
  }
}

torch::Tensor LayerNormOptionalBiasImpl::forward(const torch::Tensor& x) {
  return torch::layer_norm(x, {dim}, weight, bias, eps);
}

GlobalResponseNormImpl::GlobalResponseNormImpl(std::int64_t dim) {
  gamma = register_parameter("gamma", torch::zeros({1, 1, 1, dim}));
  beta = register_parameter("beta", torch::zeros({1, 1, 1, dim}));
}

torch::Tensor GlobalResponseNormImpl::forward(const torch::Tensor& x) {
  // torch.norm(x, p=2, dim=(1, 2)) runs linalg.vector_norm in PyTorch 1.13 and later
  const std::vector<std::int64_t> spatial{1, 2};
  auto gx = at::linalg_vector_norm(x, 2, spatial, true);
  auto nx = gx / (gx.mean(-1, true) + 1e-6);
  return gamma * (x * nx) + beta + x;
}

AdaLayerNormContinuousImpl::AdaLayerNormContinuousImpl(const AdaLayerNormContinuousOptions& o) {
  linear = register_module(
      "linear",
      torch::nn::Linear(torch::nn::LinearOptions(o.conditioning_embedding_dim, 2 * o.embedding_dim).bias(o.bias)));
  if (o.norm_type == "rms_norm") {
    rms_norm = register_module("norm", RMSNorm(o.embedding_dim, o.eps, o.elementwise_affine));
  } else if (o.norm_type == "layer_norm") {
    layer_norm = register_module("norm", LayerNormOptionalBias(o.embedding_dim, o.eps, o.elementwise_affine, o.bias));
  } else {
    fail("AdaLayerNormContinuous: unknown norm_type \"{}\" (layer_norm, rms_norm)", o.norm_type);
  }
}

torch::Tensor AdaLayerNormContinuousImpl::forward(const torch::Tensor& x, const torch::Tensor& conditioning) {
  auto emb = linear(torch::silu(conditioning));
  auto parts = emb.chunk(2, 1);
  auto normed = rms_norm ? rms_norm(x) : layer_norm(x);
  return normed * (1 + parts[0]).unsqueeze(1) + parts[1].unsqueeze(1);
}

}  // namespace catimage
