#pragma once
// transformers' T5EncoderModel (T5 and T5 v1.1, e.g. PixArt-α/Σ's t5-v1_1-xxl text_encoder/),
// built from its config.json. Parameter names are transformers' keys: shared.weight,
// encoder.block.N.layer.0.{SelfAttention.{q,k,v,o},layer_norm}, the relative attention bias
// in block 0 only (encoder.block.0.layer.0.SelfAttention.relative_attention_bias), shared by
// all blocks, encoder.block.N.layer.1.{DenseReluDense.{wi_0,wi_1,wo} (gated) or {wi,wo},
// layer_norm}, encoder.final_layer_norm. A checkpoint's encoder.embed_tokens.weight (tied to
// shared.weight) is accepted.
//
// Numerics follow transformers: no 1/sqrt(d) attention scale, softmax in fp32, RMS layer norm
// with the variance in fp32 (cast back to the weight's dtype when that is half), the fp16
// clamp after each sub-layer, and under fp16 the `wo` projections kept in fp32
// (_keep_in_fp32_modules = ["wo"]): their input is cast to fp32, so the residual stream is
// fp32 after block 0's feed-forward, as in transformers.
#include <torch/torch.h>

#include <string>

#include "catimage/diffusion/models/t5_config.hpp"

namespace catimage {

// A bias-free linear layer whose weight is allocated in a given dtype/device: uninitialised
// when init_std <= 0 (weights are loaded into it), else N(0, init_std) drawn in fp32 on the CPU
// (random-weight folders, tests).
struct T5LinearImpl : torch::nn::Module {
  T5LinearImpl(std::int64_t in, std::int64_t out, const torch::TensorOptions& opt, double init_std);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;  // (out, in)
};
TORCH_MODULE(T5Linear);

// T5LayerNorm: RMS norm, no mean, no bias.
struct T5LayerNormImpl : torch::nn::Module {
  // init: weight 1 + N(0, 0.1) (so tests can tell the norms apart); else uninitialised.
  T5LayerNormImpl(std::int64_t d, double eps, const torch::TensorOptions& opt, bool init);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;
  double eps;
};
TORCH_MODULE(T5LayerNorm);

// SelfAttention: q, k, v, o (+ relative_attention_bias in the first block).
struct T5AttentionImpl : torch::nn::Module {
  T5AttentionImpl(const T5Config& c, bool has_relative_bias, const torch::TensorOptions& opt, bool init);
  // x (B, L, d_model); bias (1 or B, heads, L, L): the position bias plus the padding mask.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& bias);
  // The position bias (1, heads, q_len, k_len), in the relative_attention_bias' dtype.
  torch::Tensor compute_bias(std::int64_t q_len, std::int64_t k_len);
  T5Linear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr};
  torch::Tensor relative_attention_bias;  // (num_buckets, heads), first block only
  T5Config cfg;
};
TORCH_MODULE(T5Attention);

// DenseReluDense: wi_0 (gate, activated) * wi_1 -> wo when gated, else act(wi) -> wo.
struct T5DenseActDenseImpl : torch::nn::Module {
  T5DenseActDenseImpl(const T5Config& c, const torch::TensorOptions& opt, const torch::TensorOptions& wo_opt,
                      bool init);
  torch::Tensor forward(const torch::Tensor& x);
  T5Linear wi{nullptr}, wi_0{nullptr}, wi_1{nullptr}, wo{nullptr};
  T5Config cfg;
};
TORCH_MODULE(T5DenseActDense);

// encoder.block.N: layer.0 (layer_norm, SelfAttention), layer.1 (layer_norm, DenseReluDense).
struct T5BlockImpl : torch::nn::Module {
  T5BlockImpl(const T5Config& c, bool has_relative_bias, const torch::TensorOptions& opt,
              const torch::TensorOptions& wo_opt, bool init);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& bias);
  T5LayerNorm attn_norm{nullptr}, ff_norm{nullptr};
  T5Attention attention{nullptr};
  T5DenseActDense ff{nullptr};
};
TORCH_MODULE(T5Block);

struct T5EncoderModelImpl : torch::nn::Module {
  // Parameters in `dtype` on `device`; under fp16 the wo weights are fp32 (transformers'
  // _keep_in_fp32_modules). `init`: seeded random values (torch::manual_seed) instead of
  // uninitialised memory, for random-weight folders and tests.
  explicit T5EncoderModelImpl(const T5Config& c, torch::Dtype dtype = torch::kFloat32,
                              torch::Device device = torch::kCPU, bool init = true);
  // input_ids (B, L) int64; attention_mask (B, L), 1 = token, 0 = padding (undefined: all 1).
  // Returns last_hidden_state (B, L, d_model) in the model's dtype.
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask = {});

  T5Config cfg;
  torch::Tensor shared;         // shared.weight (vocab_size, d_model)
  torch::nn::ModuleList block;  // encoder.block: T5Block
  T5LayerNorm final_layer_norm{nullptr};
  torch::Dtype dtype;
};
TORCH_MODULE(T5EncoderModel);

// A text_encoder/ folder (config.json + model[.fp16].safetensors or a sharded
// model.safetensors.index.json): the model built directly in `dtype` on `device` and loaded
// tensor by tensor (no full second copy of the weights is ever held), in eval mode.
T5EncoderModel load_t5_encoder(const std::string& dir, torch::Dtype dtype = torch::kFloat32,
                               torch::Device device = torch::kCPU);

}  // namespace catimage
