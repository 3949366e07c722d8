#include "catimage/diffusion/models/autoencoder.hpp"

#include <filesystem>

#include "catimage/io/weights.hpp"
#include "catimage/util/error.hpp"

namespace fs = std::filesystem;

namespace catimage {

namespace F = torch::nn::functional;

AutoencoderKLImpl::AutoencoderKLImpl(const VaeCoderConfig& c, bool with_encoder, bool quant, bool post_quant) {
  if (with_encoder) {
    encoder = register_module("encoder", VaeEncoder(c));
    if (quant)
      quant_conv = register_module("quant_conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(2 * c.latent_channels,
                                                                                           2 * c.latent_channels, 1)));
  }
  decoder = register_module("decoder", VaeDecoder(c));
  if (post_quant)
    post_quant_conv = register_module(
        "post_quant_conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(c.latent_channels, c.latent_channels, 1)));
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

AutoencoderTinyBlockImpl::AutoencoderTinyBlockImpl(std::int64_t c) {
  conv = register_module("conv", torch::nn::Sequential(
                                     torch::nn::Conv2d(torch::nn::Conv2dOptions(c, c, 3).padding(1)), torch::nn::ReLU(),
                                     torch::nn::Conv2d(torch::nn::Conv2dOptions(c, c, 3).padding(1)), torch::nn::ReLU(),
                                     torch::nn::Conv2d(torch::nn::Conv2dOptions(c, c, 3).padding(1))));
}

torch::Tensor AutoencoderTinyBlockImpl::forward(const torch::Tensor& x) { return torch::relu(conv->forward(x) + x); }

DecoderTinyImpl::DecoderTinyImpl(std::int64_t latent_channels, std::int64_t out_channels, const std::vector<int>& ch,
                                 const std::vector<int>& blocks, std::int64_t upsampling) {
  layers = torch::nn::Sequential();
  layers->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(latent_channels, ch[0], 3).padding(1)));
  layers->push_back(torch::nn::ReLU());
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const bool last = i + 1 == blocks.size();
    for (int b = 0; b < blocks[i]; ++b) layers->push_back(AutoencoderTinyBlock(ch[i]));
    if (!last)
      layers->push_back(torch::nn::Upsample(torch::nn::UpsampleOptions()
                                                .scale_factor(std::vector<double>{double(upsampling), double(upsampling)})
                                                .mode(torch::kNearest)));
    layers->push_back(torch::nn::Conv2d(
        torch::nn::Conv2dOptions(ch[i], last ? out_channels : ch[i], 3).padding(1).bias(last)));
  }
  register_module("layers", layers);
}

torch::Tensor DecoderTinyImpl::forward(const torch::Tensor& z) {
  auto x = torch::tanh(z / 3) * 3;
  return layers->forward(x).mul(2).sub(1);
}

namespace {

struct ComponentPaths {
  std::string config, weights_dir, weights_file;  // weights_file set for a single-file override
};

ComponentPaths component_paths(const std::string& path) {
  ComponentPaths p;
  if (fs::is_directory(path)) {
    p.config = (fs::path(path) / "config.json").string();
    p.weights_dir = path;
  } else if (fs::is_regular_file(path) && fs::path(path).extension() == ".safetensors") {
    p.weights_file = path;
    auto beside = fs::path(path).parent_path() / "config.json";
    p.config = beside.string();
  } else {
    fail("{}: not a model folder or a .safetensors file", path);
  }
  if (!fs::is_regular_file(p.config)) fail("{}: missing config.json (expected {})", path, p.config);
  return p;
}

WeightFiles open_weights(const ComponentPaths& p) {
  return p.weights_file.empty() ? WeightFiles::in_folder(p.weights_dir, "diffusion_pytorch_model")
                                : WeightFiles::file(p.weights_file);
}

VaeCoderConfig kl_config(const ConfigView& c) {
  VaeCoderConfig v;
  v.in_channels = c.get_int("in_channels", 3);
  v.out_channels = c.get_int("out_channels", 3);
  v.latent_channels = c.get_int("latent_channels", 4);
  v.layers_per_block = c.get_int("layers_per_block", 1);
  v.groups = c.get_int("norm_num_groups", 32);
  v.block_out_channels = c.get_int_list("block_out_channels");
  v.mid_attention = c.get_bool("mid_block_add_attention", true);
  if (v.block_out_channels.empty()) c.bad("block_out_channels", "empty");
  for (const auto& t : c.has("down_block_types") ? c.get_string_list("down_block_types") : std::vector<std::string>{})
    if (t != "DownEncoderBlock2D") c.bad("down_block_types", t + " is not supported (DownEncoderBlock2D)");
  for (const auto& t : c.has("up_block_types") ? c.get_string_list("up_block_types") : std::vector<std::string>{})
    if (t != "UpDecoderBlock2D") c.bad("up_block_types", t + " is not supported (UpDecoderBlock2D)");
  for (int ch : v.block_out_channels)
    if (ch % v.groups != 0) c.bad("norm_num_groups", "does not divide block_out_channels");
  c.require_default("act_fn", "silu");
  c.require_default("shift_factor", nullptr);
  c.require_default("latents_mean", nullptr);
  c.require_default("latents_std", nullptr);
  return v;
}

// Names older diffusers checkpoints used for the VAE's mid-block attention.
const std::map<std::string, std::string> kDeprecatedVaeAttention = {
    {"attentions.0.query.", "attentions.0.to_q."},
    {"attentions.0.key.", "attentions.0.to_k."},
    {"attentions.0.value.", "attentions.0.to_v."},
    {"attentions.0.proj_attn.", "attentions.0.to_out.0."}};

class KLDecoder : public LatentDecoder {
 public:
  KLDecoder(AutoencoderKL m, double scaling, bool upcast, int factor, int latent)
      : m_(std::move(m)), scaling_(scaling), upcast_(upcast), factor_(factor), latent_(latent) {}
  torch::Tensor decode(const torch::Tensor& latents) override {
    auto p = m_->parameters().front();
    return m_->decode((latents / scaling_).to(p.scalar_type()));
  }
  int spatial_factor() const override { return factor_; }
  int latent_channels() const override { return latent_; }
  bool needs_fp32() const override { return upcast_; }
  void to(torch::Device d, torch::Dtype t) override { m_->to(d, t); }
  std::string kind() const override { return "AutoencoderKL"; }

 private:
  AutoencoderKL m_;
  double scaling_;
  bool upcast_;
  int factor_, latent_;
};

class TinyDecoder : public LatentDecoder {
 public:
  TinyDecoder(DecoderTiny m, double scaling, int factor, int latent)
      : m_(std::move(m)), scaling_(scaling), factor_(factor), latent_(latent) {}
  torch::Tensor decode(const torch::Tensor& latents) override {
    auto p = m_->parameters().front();
    return m_((latents / scaling_).to(p.scalar_type()));
  }
  int spatial_factor() const override { return factor_; }
  int latent_channels() const override { return latent_; }
  void to(torch::Device d, torch::Dtype t) override { m_->to(d, t); }
  std::string kind() const override { return "AutoencoderTiny"; }

 private:
  DecoderTiny m_;
  double scaling_;
  int factor_, latent_;
};

std::pair<AutoencoderKL, double> build_kl(const ComponentPaths& p, const ConfigView& c, bool with_encoder) {
  auto v = kl_config(c);
  AutoencoderKL m(v, with_encoder, c.get_bool("use_quant_conv", true), c.get_bool("use_post_quant_conv", true));
  LoadOptions lo;
  lo.renames = kDeprecatedVaeAttention;
  lo.conv1x1_as_linear = true;
  if (!with_encoder) lo.ignored_prefixes = {"encoder.", "quant_conv."};
  load_weights(*m, open_weights(p), lo);
  m->eval();
  return {m, c.get_double("scaling_factor", 0.18215)};
}

struct TinySpec {
  std::vector<int> channels, blocks;
  int up = 2, latent = 4, out = 3;
};

TinySpec tiny_spec(const ConfigView& c) {
  TinySpec t;
  t.channels = c.has("decoder_block_out_channels") ? c.get_int_list("decoder_block_out_channels")
                                                   : std::vector<int>{64, 64, 64, 64};
  t.blocks = c.has("num_decoder_blocks") ? c.get_int_list("num_decoder_blocks") : std::vector<int>{3, 3, 3, 1};
  if (t.channels.size() != t.blocks.size() || t.channels.empty())
    c.bad("num_decoder_blocks", "must have one entry per decoder_block_out_channels entry");
  c.require_default("act_fn", "relu");
  c.require_default("upsample_fn", "nearest");
  t.up = c.get_int("upsampling_scaling_factor", 2);
  t.latent = c.get_int("latent_channels", 4);
  t.out = c.get_int("out_channels", 3);
  return t;
}

}  // namespace

std::pair<std::shared_ptr<torch::nn::Module>, std::string> make_autoencoder_module(const ConfigView& c) {
  auto cls = c.get_string("_class_name", "AutoencoderKL");
  if (cls == "AutoencoderKL")
    return {AutoencoderKL(kl_config(c), true, c.get_bool("use_quant_conv", true), c.get_bool("use_post_quant_conv", true))
                .ptr(),
            ""};
  if (cls == "AutoencoderTiny") {
    auto t = tiny_spec(c);
    return {DecoderTiny(t.latent, t.out, t.channels, t.blocks, t.up).ptr(), "decoder."};
  }
  c.bad("_class_name", "\"" + cls + "\" is not a supported autoencoder (AutoencoderKL, AutoencoderTiny)");
}

std::unique_ptr<LatentDecoder> load_latent_decoder(const std::string& path, bool with_encoder) {
  auto p = component_paths(path);
  auto c = ConfigView::load(p.config);
  auto cls = c.get_string("_class_name", "AutoencoderKL");
  if (cls == "AutoencoderKL") {
    auto [m, scaling] = build_kl(p, c, with_encoder);
    const int factor = 1 << (c.get_int_list("block_out_channels").size() - 1);
    return std::make_unique<KLDecoder>(m, scaling, c.get_bool("force_upcast", true), factor,
                                       c.get_int("latent_channels", 4));
  }
  if (cls == "AutoencoderTiny") {
    auto t = tiny_spec(c);
    const auto& ch = t.channels;
    const int up = t.up, latent = t.latent;
    DecoderTiny d(latent, t.out, ch, t.blocks, up);
    // The TAESD file holds encoder.* too; only the decoder is built.
    WeightFiles w = open_weights(p);
    LoadOptions lo;
    lo.prefix = "decoder.";
    load_weights(*d, w, lo);
    for (const auto& k : w.names())
      if (k.rfind("decoder.", 0) != 0 && k.rfind("encoder.", 0) != 0)
        fail("{}: unexpected tensor \"{}\" for an AutoencoderTiny", w.describe(), k);
    d->eval();
    int factor = 1;
    for (std::size_t i = 0; i + 1 < ch.size(); ++i) factor *= up;
    return std::make_unique<TinyDecoder>(d, c.get_double("scaling_factor", 1.0), factor, latent);
  }
  c.bad("_class_name", "\"" + cls + "\" is not a supported decoder (AutoencoderKL, AutoencoderTiny)");
}

std::unique_ptr<KLAutoencoder> load_kl_autoencoder(const std::string& path) {
  auto p = component_paths(path);
  auto c = ConfigView::load(p.config);
  if (c.get_string("_class_name", "AutoencoderKL") != "AutoencoderKL") c.bad("_class_name", "expected AutoencoderKL");
  auto [m, scaling] = build_kl(p, c, true);
  return std::make_unique<KLAutoencoder>(m, scaling);
}

}  // namespace catimage
