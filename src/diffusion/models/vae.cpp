#include "catimage/diffusion/models/vae.hpp"

#include "catimage/util/error.hpp"

namespace catimage {

namespace F = torch::nn::functional;

AutoencoderKLConfig AutoencoderKLConfig::from(const ConfigView& c) {
  AutoencoderKLConfig v;
  c.read("in_channels", v.in_channels);
  c.read("out_channels", v.out_channels);
  c.read("latent_channels", v.latent_channels);
  c.read("layers_per_block", v.layers_per_block);
  c.read("norm_num_groups", v.norm_num_groups);
  v.block_out_channels = c.get_int_list("block_out_channels");
  c.read("mid_block_add_attention", v.mid_block_add_attention);
  c.read("use_quant_conv", v.use_quant_conv);
  c.read("use_post_quant_conv", v.use_post_quant_conv);
  c.read("force_upcast", v.force_upcast);
  c.read("scaling_factor", v.scaling_factor);
  if (v.block_out_channels.empty()) c.bad("block_out_channels", "empty");
  for (const auto& t : c.has("down_block_types") ? c.get_string_list("down_block_types") : std::vector<std::string>{})
    if (t != "DownEncoderBlock2D") c.bad("down_block_types", t + " is not supported (DownEncoderBlock2D)");
  for (const auto& t : c.has("up_block_types") ? c.get_string_list("up_block_types") : std::vector<std::string>{})
    if (t != "UpDecoderBlock2D") c.bad("up_block_types", t + " is not supported (UpDecoderBlock2D)");
  for (int ch : v.block_out_channels)
    if (ch % v.norm_num_groups != 0) c.bad("norm_num_groups", "does not divide block_out_channels");
  c.require_defaults(
      {{"act_fn", "silu"}, {"shift_factor", nullptr}, {"latents_mean", nullptr}, {"latents_std", nullptr}});
  return v;
}

namespace {

constexpr double kVaeEps = 1e-6;

torch::nn::GroupNorm group_norm(const AutoencoderKLConfig& c, std::int64_t channels) {
  return torch::nn::GroupNorm(torch::nn::GroupNormOptions(c.norm_num_groups, channels).eps(kVaeEps));
}

torch::nn::Conv2d conv3x3(std::int64_t in, std::int64_t out) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1));
}

// The options of the encoder's and decoder's blocks from the config (in -> out channels).
template <class Options>
Options block_options(const AutoencoderKLConfig& c, std::int64_t in, std::int64_t out, std::int64_t num_layers) {
  Options o;
  o.in_channels = in;
  o.out_channels = out;
  o.num_layers = num_layers;
  o.resnet_groups = c.norm_num_groups;
  o.resnet_eps = kVaeEps;
  return o;
}

UNetMidBlock2D mid_block_of(const AutoencoderKLConfig& c, std::int64_t channels) {
  UNetMidBlock2DOptions o;
  o.in_channels = channels;
  o.resnet_groups = c.norm_num_groups;
  o.resnet_eps = kVaeEps;
  o.add_attention = c.mid_block_add_attention;
  return UNetMidBlock2D(o);
}

}  // namespace

VaeEncoderImpl::VaeEncoderImpl(const AutoencoderKLConfig& c) {
  const auto& ch = c.block_out_channels;
  conv_in = register_module("conv_in", conv3x3(c.in_channels, ch[0]));
  down_blocks = register_module("down_blocks", torch::nn::ModuleList());
  for (std::size_t i = 0; i < ch.size(); ++i) {
    auto o = block_options<DownEncoderBlock2DOptions>(c, ch[i == 0 ? 0 : i - 1], ch[i], c.layers_per_block);
    o.add_downsample = i + 1 < ch.size();
    o.downsample_padding = 0;
    down_blocks->push_back(DownEncoderBlock2D(o));
  }
  mid_block = register_module("mid_block", mid_block_of(c, ch.back()));
  conv_norm_out = register_module("conv_norm_out", group_norm(c, ch.back()));
  conv_out = register_module("conv_out", conv3x3(ch.back(), (c.double_z ? 2 : 1) * c.latent_channels));
}

torch::Tensor VaeEncoderImpl::forward(torch::Tensor x) {
  // 1. pre-process
  x = conv_in(x);
  // 2. down
  for (std::size_t i = 0; i < down_blocks->size(); ++i) x = down_blocks->at<DownEncoderBlock2DImpl>(i).forward(x);
  // 3. mid
  x = mid_block(x);
  // 4. post-process
  return conv_out(F::silu(conv_norm_out(x)));
}

VaeDecoderImpl::VaeDecoderImpl(const AutoencoderKLConfig& c) {
  std::vector<int> ch(c.block_out_channels.rbegin(), c.block_out_channels.rend());
  conv_in = register_module("conv_in", conv3x3(c.latent_channels, ch[0]));
  mid_block = register_module("mid_block", mid_block_of(c, ch[0]));
  up_blocks = register_module("up_blocks", torch::nn::ModuleList());
  for (std::size_t i = 0; i < ch.size(); ++i) {
    auto o = block_options<UpDecoderBlock2DOptions>(c, ch[i == 0 ? 0 : i - 1], ch[i], c.layers_per_block + 1);
    o.add_upsample = i + 1 < ch.size();
    up_blocks->push_back(UpDecoderBlock2D(o));
  }
  conv_norm_out = register_module("conv_norm_out", group_norm(c, ch.back()));
  conv_out = register_module("conv_out", conv3x3(ch.back(), c.out_channels));
}

torch::Tensor VaeDecoderImpl::forward(torch::Tensor z) {
  // 1. pre-process
  auto x = conv_in(z);
  // 2. mid
  x = mid_block(x);
  // 3. up
  for (std::size_t i = 0; i < up_blocks->size(); ++i) x = up_blocks->at<UpDecoderBlock2DImpl>(i).forward(x);
  // 4. post-process
  return conv_out(F::silu(conv_norm_out(x)));
}

AutoencoderKLImpl::AutoencoderKLImpl(const AutoencoderKLConfig& c, bool with_encoder) {
  const auto latent = c.latent_channels;
  if (with_encoder) {
    encoder = register_module("encoder", VaeEncoder(c));
    if (c.use_quant_conv)
      quant_conv =
          register_module("quant_conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(2 * latent, 2 * latent, 1)));
  }
  decoder = register_module("decoder", VaeDecoder(c));
  if (c.use_post_quant_conv)
    post_quant_conv =
        register_module("post_quant_conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(latent, latent, 1)));
}

torch::Tensor AutoencoderKLImpl::decode(const torch::Tensor& z) {
  return decoder(post_quant_conv ? post_quant_conv(z) : z);
}

torch::Tensor AutoencoderKLImpl::encode_mean(const torch::Tensor& x) {
  if (!encoder) fail("this autoencoder was loaded without its encoder");
  auto moments = encoder(x);
  if (quant_conv) moments = quant_conv(moments);
  return moments.chunk(2, 1)[0];
}

}  // namespace catimage
