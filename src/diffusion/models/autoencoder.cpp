#include "catimage/diffusion/models/autoencoder.hpp"

#include <filesystem>

#include "catimage/io/weights.hpp"
#include "catimage/util/error.hpp"

namespace fs = std::filesystem;

namespace catimage {

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

// Names older diffusers checkpoints used for the VAE's mid-block attention.
const std::map<std::string, std::string> kDeprecatedVaeAttention = {
    {"attentions.0.query.", "attentions.0.to_q."},
    {"attentions.0.key.", "attentions.0.to_k."},
    {"attentions.0.value.", "attentions.0.to_v."},
    {"attentions.0.proj_attn.", "attentions.0.to_out.0."}};

class KLDecoder : public LatentDecoder {
 public:
  KLDecoder(AutoencoderKL m, const AutoencoderKLConfig& c) : m_(std::move(m)), c_(c) {}
  torch::Tensor decode(const torch::Tensor& latents) override {
    auto p = m_->parameters().front();
    return m_->decode((latents / c_.scaling_factor).to(p.scalar_type()));
  }
  int spatial_factor() const override { return c_.spatial_factor(); }
  int latent_channels() const override { return static_cast<int>(c_.latent_channels); }
  bool needs_fp32() const override { return c_.force_upcast; }
  void to(torch::Device d, torch::Dtype t) override { m_->to(d, t); }
  std::string kind() const override { return "AutoencoderKL"; }

 private:
  AutoencoderKL m_;
  AutoencoderKLConfig c_;
};

class TinyDecoder : public LatentDecoder {
 public:
  TinyDecoder(DecoderTiny m, const AutoencoderTinyConfig& c) : m_(std::move(m)), c_(c) {}
  torch::Tensor decode(const torch::Tensor& latents) override {
    auto p = m_->parameters().front();
    return m_((latents / c_.scaling_factor).to(p.scalar_type()));
  }
  int spatial_factor() const override { return c_.spatial_factor(); }
  int latent_channels() const override { return static_cast<int>(c_.latent_channels); }
  void to(torch::Device d, torch::Dtype t) override { m_->to(d, t); }
  std::string kind() const override { return "AutoencoderTiny"; }

 private:
  DecoderTiny m_;
  AutoencoderTinyConfig c_;
};

AutoencoderKL load_kl(const WeightSource& w, const AutoencoderKLConfig& c, bool with_encoder) {
  AutoencoderKL m(c, with_encoder);
  LoadOptions lo;
  lo.renames = kDeprecatedVaeAttention;
  lo.conv1x1_as_linear = true;
  if (!with_encoder) lo.ignored_prefixes = {"encoder.", "quant_conv."};
  load_weights(*m, w, lo);
  m->eval();
  return m;
}

DecoderTiny load_tiny(const WeightSource& w, const AutoencoderTinyConfig& c) {
  DecoderTiny d(c);
  // The TAESD file holds encoder.* too; only the decoder is built.
  LoadOptions lo;
  lo.prefix = "decoder.";
  load_weights(*d, w, lo);
  for (const auto& k : w.names())
    if (k.rfind("decoder.", 0) != 0 && k.rfind("encoder.", 0) != 0)
      fail("{}: unexpected tensor \"{}\" for an AutoencoderTiny", w.describe(), k);
  d->eval();
  return d;
}

[[noreturn]] void unsupported_class(const ConfigView& c, const std::string& cls, const char* what) {
  c.bad("_class_name", "\"" + cls + "\" is not a supported " + what + " (AutoencoderKL, AutoencoderTiny)");
}

}  // namespace

std::pair<std::shared_ptr<torch::nn::Module>, std::string> make_autoencoder_module(const ConfigView& c) {
  auto cls = c.get_string("_class_name", "AutoencoderKL");
  if (cls == "AutoencoderKL") return {AutoencoderKL(AutoencoderKLConfig::from(c), true).ptr(), ""};
  if (cls == "AutoencoderTiny") return {DecoderTiny(AutoencoderTinyConfig::from(c)).ptr(), "decoder."};
  unsupported_class(c, cls, "autoencoder");
}

std::unique_ptr<LatentDecoder> load_latent_decoder(const std::string& config, const WeightSource& w,
                                                   bool with_encoder) {
  auto c = ConfigView::load(config);
  auto cls = c.get_string("_class_name", "AutoencoderKL");
  if (cls == "AutoencoderKL") {
    auto kl = AutoencoderKLConfig::from(c);
    return std::make_unique<KLDecoder>(load_kl(w, kl, with_encoder), kl);
  }
  if (cls == "AutoencoderTiny") {
    auto tiny = AutoencoderTinyConfig::from(c);
    return std::make_unique<TinyDecoder>(load_tiny(w, tiny), tiny);
  }
  unsupported_class(c, cls, "decoder");
}

std::unique_ptr<LatentDecoder> load_latent_decoder(const std::string& path, bool with_encoder) {
  auto p = component_paths(path);
  return load_latent_decoder(p.config, open_weights(p), with_encoder);
}

std::unique_ptr<KLAutoencoder> load_kl_autoencoder(const std::string& path) {
  auto p = component_paths(path);
  auto c = ConfigView::load(p.config);
  if (c.get_string("_class_name", "AutoencoderKL") != "AutoencoderKL") c.bad("_class_name", "expected AutoencoderKL");
  auto kl = AutoencoderKLConfig::from(c);
  return std::make_unique<KLAutoencoder>(load_kl(open_weights(p), kl, true), kl.scaling_factor);
}

}  // namespace catimage
