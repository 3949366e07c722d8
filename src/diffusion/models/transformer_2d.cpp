#include "catimage/diffusion/models/transformer_2d.hpp"

namespace catimage {

Transformer2DModelImpl::Transformer2DModelImpl(const Transformer2DModelOptions& o) : linear(o.use_linear_projection) {
  const auto channels = o.in_channels;
  norm =
      register_module("norm", torch::nn::GroupNorm(torch::nn::GroupNormOptions(o.norm_num_groups, channels).eps(1e-6)));
  if (linear) {
    proj_in_linear = register_module("proj_in", torch::nn::Linear(channels, channels));
  } else {
    proj_in_conv = register_module("proj_in", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 1)));
  }
  transformer_blocks = register_module("transformer_blocks", torch::nn::ModuleList());
  BasicTransformerBlockOptions block{channels, o.num_attention_heads, o.attention_head_dim, o.cross_attention_dim};
  for (std::int64_t i = 0; i < o.num_layers; ++i) transformer_blocks->push_back(BasicTransformerBlock(block));
  if (linear) {
    proj_out_linear = register_module("proj_out", torch::nn::Linear(channels, channels));
  } else {
    proj_out_conv = register_module("proj_out", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, channels, 1)));
  }
}

torch::Tensor Transformer2DModelImpl::forward(const torch::Tensor& x, const torch::Tensor& context) {
  const auto B = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  auto h = norm(x);
  if (linear) {
    h = proj_in_linear(h.permute({0, 2, 3, 1}).reshape({B, H * W, C}));
  } else {
    h = proj_in_conv(h).permute({0, 2, 3, 1}).reshape({B, H * W, C});
  }
  for (std::size_t i = 0; i < transformer_blocks->size(); ++i)
    h = transformer_blocks->at<BasicTransformerBlockImpl>(i).forward(h, context);
  if (linear) {
    h = proj_out_linear(h).reshape({B, H, W, C}).permute({0, 3, 1, 2}).contiguous();
  } else {
    h = proj_out_conv(h.reshape({B, H, W, C}).permute({0, 3, 1, 2}).contiguous());
  }
  return h + x;
}

}  // namespace catimage
