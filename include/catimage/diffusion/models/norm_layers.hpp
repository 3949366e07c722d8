#pragma once
// Normalization layers of diffusers' models/normalization.py that the aMUSEd transformer
// (UVit2DModel) uses, under diffusers' parameter names: RMSNorm, LayerNorm with an optional
// bias, GlobalResponseNorm (ConvNeXt-V2) and AdaLayerNormContinuous (a norm scaled and
// shifted by a projected conditioning vector).
#include <torch/torch.h>

#include <string>

namespace catimage {

// x / sqrt(mean(x², last dim) + eps) [* weight], the mean in float32; the result takes the
// weight's dtype when it is half precision, else float32 with a weight, the input's without.
struct RMSNormImpl : torch::nn::Module {
  RMSNormImpl(std::int64_t dim, double eps, bool elementwise_affine = true);
  torch::Tensor forward(const torch::Tensor& x);
  double eps;
  torch::Tensor weight;  // undefined without elementwise_affine
};
TORCH_MODULE(RMSNorm);

// diffusers' LayerNorm for PyTorch < 2.1: nn.LayerNorm whose bias can be left out.
struct LayerNormOptionalBiasImpl : torch::nn::Module {
  LayerNormOptionalBiasImpl(std::int64_t dim, double eps, bool elementwise_affine, bool bias);
  torch::Tensor forward(const torch::Tensor& x);
  std::int64_t dim;
  double eps;
  torch::Tensor weight, bias;  // either may be undefined
};
TORCH_MODULE(LayerNormOptionalBias);

// (B, H, W, C) -> gamma * (x * nx) + beta + x, nx the per-channel L2 norm over H, W divided
// by its mean over channels (+1e-6).
struct GlobalResponseNormImpl : torch::nn::Module {
  explicit GlobalResponseNormImpl(std::int64_t dim);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor gamma, beta;  // (1, 1, 1, dim)
};
TORCH_MODULE(GlobalResponseNorm);

struct AdaLayerNormContinuousOptions {
  std::int64_t embedding_dim = 0, conditioning_embedding_dim = 0;
  bool elementwise_affine = true;
  double eps = 1e-5;
  bool bias = true;                      // on linear and on the layer norm
  std::string norm_type = "layer_norm";  // layer_norm | rms_norm
};

// norm(x) * (1 + scale) + shift, (scale, shift) = linear(silu(conditioning)) split in two;
// x (B, N, D), conditioning (B, conditioning_embedding_dim).
struct AdaLayerNormContinuousImpl : torch::nn::Module {
  explicit AdaLayerNormContinuousImpl(const AdaLayerNormContinuousOptions& o);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& conditioning);
  torch::nn::Linear linear{nullptr};
  RMSNorm rms_norm{nullptr};                  // registered as "norm" (rms_norm)
  LayerNormOptionalBias layer_norm{nullptr};  // registered as "norm" (layer_norm)
};
TORCH_MODULE(AdaLayerNormContinuous);

}  // namespace catimage
