#include "catimage/scoring/mobilenet.hpp"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cmath>

#include "catimage/util/error.hpp"

namespace F = torch::nn::functional;

namespace catimage {

namespace {

// keras-applications' _depthwise_conv_block calls: (pointwise filters, stride), block_id 1..13.
struct BlockSpec {
  std::int64_t filters, stride;
};
constexpr BlockSpec kBlocks[] = {{64, 1},  {128, 2}, {128, 1}, {256, 2}, {256, 1},  {512, 2}, {512, 1},
                                 {512, 1}, {512, 1}, {512, 1}, {512, 1}, {1024, 2}, {1024, 1}};

torch::nn::Conv2d conv(std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t stride, std::int64_t groups) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, k).stride(stride).groups(groups).bias(false));
}

}  // namespace

const std::vector<std::string>& mobilenet_paddings() {
  static const std::vector<std::string> names = {"same", "symmetric"};
  return names;
}

MobileNetConfig MobileNetConfig::from(const ConfigView& c) {
  MobileNetConfig m;
  c.read("alpha", m.alpha);
  c.read("depth_multiplier", m.depth_multiplier);
  c.read("padding", m.padding);
  c.read("epsilon", m.epsilon);
  if (!(m.alpha > 0) || !std::isfinite(m.alpha) || m.filters(32) < 1)
    c.bad("alpha", fmt::format("{} gives int(32 * alpha) = {} filters; it must be positive", m.alpha, m.filters(32)));
  if (m.alpha > 16) c.bad("alpha", fmt::format("{} is not a MobileNet width multiplier (at most 16)", m.alpha));
  if (m.depth_multiplier < 1 || m.depth_multiplier > 64) c.bad("depth_multiplier", "must be in 1..64");
  const auto& p = mobilenet_paddings();
  if (std::find(p.begin(), p.end(), m.padding) == p.end())
    c.bad("padding", fmt::format("\"{}\" is not one of {}", m.padding, fmt::join(p, ", ")));
  if (!(m.epsilon > 0) || !std::isfinite(m.epsilon)) c.bad("epsilon", "must be a positive number");
  return m;
}

std::int64_t MobileNetConfig::filters(std::int64_t base) const {
  return static_cast<std::int64_t>(static_cast<double>(base) * alpha);
}

KerasBatchNormImpl::KerasBatchNormImpl(std::int64_t channels, double eps) : epsilon(eps) {
  weight = register_parameter("weight", torch::ones({channels}));
  bias = register_parameter("bias", torch::zeros({channels}));
  running_mean = register_buffer("running_mean", torch::zeros({channels}));
  running_var = register_buffer("running_var", torch::ones({channels}));
}

torch::Tensor KerasBatchNormImpl::forward(const torch::Tensor& x) {
  return torch::batch_norm(x, weight, bias, running_mean, running_var, /*training=*/false, /*momentum=*/0.0, epsilon,
                           /*cudnn_enabled=*/true);
}

MobileNetImpl::MobileNetImpl(const MobileNetConfig& c) : cfg(c) {
  std::int64_t ch = c.filters(32);
  conv1 = register_module("conv1", conv(3, ch, 3, 2, 1));
  conv1_bn = register_module("conv1_bn", KerasBatchNorm(ch, c.epsilon));
  int id = 1;
  for (const auto& spec : kBlocks) {
    Block b;
    b.stride = spec.stride;
    const std::int64_t mid = ch * c.depth_multiplier, out = c.filters(spec.filters);
    const std::string dw = fmt::format("conv_dw_{}", id), pw = fmt::format("conv_pw_{}", id);
    b.dw = register_module(dw, conv(ch, mid, 3, spec.stride, ch));
    b.dw_bn = register_module(dw + "_bn", KerasBatchNorm(mid, c.epsilon));
    b.pw = register_module(pw, conv(mid, out, 1, 1, 1));
    b.pw_bn = register_module(pw + "_bn", KerasBatchNorm(out, c.epsilon));
    blocks.push_back(b);
    ch = out;
    ++id;
  }
}

torch::Tensor MobileNetImpl::pad3x3(const torch::Tensor& x, std::int64_t stride) const {
  // F::pad takes (left, right, top, bottom).
  if (cfg.padding == "symmetric" || stride == 1) return F::pad(x, F::PadFuncOptions({1, 1, 1, 1}));
  return F::pad(x, F::PadFuncOptions({0, 1, 0, 1}));  // ZeroPadding2D(((0, 1), (0, 1)))
}

torch::Tensor MobileNetImpl::forward(const torch::Tensor& input) {
  if (input.dim() != 4 || input.size(1) != 3)
    fail("MobileNet: expected images of shape (B, 3, H, W), got {}", c10::str(input.sizes()));
  auto relu6 = [](const torch::Tensor& t) { return t.clamp(0, 6); };
  auto x = input.to(conv1->weight.scalar_type());
  // channels-last (Keras' own NHWC): libtorch's depthwise and 1x1 convolutions run faster in it
  // (scripts/bench_score.sh ARCH=nima: 1.1-1.2x on the CPU here)
  x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  x = relu6(conv1_bn(conv1(pad3x3(x, 2))));
  for (auto& b : blocks) {
    x = relu6(b.dw_bn(b.dw(pad3x3(x, b.stride))));
    x = relu6(b.pw_bn(b.pw(x)));
  }
  return x.mean({2, 3});  // GlobalAveragePooling2D
}

}  // namespace catimage
