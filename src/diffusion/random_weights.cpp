#include "catimage/diffusion/random_weights.hpp"

#include <filesystem>

#include "catimage/diffusion/models/autoencoder.hpp"
#include "catimage/diffusion/models/clip_text_model.hpp"
#include "catimage/diffusion/models/pixart_transformer_2d.hpp"
#include "catimage/diffusion/models/t5_encoder.hpp"
#include "catimage/diffusion/models/unet_2d_condition.hpp"
#include "catimage/diffusion/models/uvit_2d.hpp"
#include "catimage/diffusion/models/vq_model.hpp"
#include "catimage/io/config_view.hpp"
#include "catimage/io/weights.hpp"
#include "catimage/util/error.hpp"

namespace fs = std::filesystem;

namespace catimage {

namespace {

// Norm scales (ones) and GlobalResponseNorm's gamma/beta (zeros) start constant; seeded noise
// on them lets parity tests see that they are used (for the components that ask for it).
void jitter_constant_parameters(torch::nn::Module& m) {
  torch::NoGradGuard ng;
  for (auto& p : m.parameters())
    if (p.numel() > 1 && (p.max() == p.min()).item<bool>()) p.add_(0.5 * torch::randn_like(p));
}

// One component folder; returns the written file or "". Component k of a pipeline folder gets
// seed + 1000 k (the order below is fixed: the tiny fixtures pin the weights it makes).
std::string component(const fs::path& dir, std::uint64_t seed, bool force, torch::Dtype dtype) {
  auto cfg_path = dir / "config.json";
  if (!fs::is_regular_file(cfg_path)) return "";
  auto c = ConfigView::load(cfg_path.string());
  // diffusers configs name their class in "_class_name", transformers ones in "architectures".
  std::string cls = c.get_string("_class_name", "");
  if (cls.empty() && c.has("architectures")) {
    const auto archs = c.get_string_list("architectures");
    cls = archs.empty() ? "CLIP" : archs.front();
  }
  const bool is_text = cls.rfind("CLIP", 0) == 0 || cls == "T5EncoderModel";
  const std::string stem = is_text ? "model" : "diffusion_pytorch_model";
  if (!force && WeightFiles::exists(dir.string(), stem)) return "";
  torch::manual_seed(seed);
  std::shared_ptr<torch::nn::Module> m;
  std::string prefix;
  if (cls.rfind("CLIP", 0) == 0) {
    m = ClipTextModel(ClipTextConfig::from(c)).ptr();
  } else if (cls == "T5EncoderModel") {
    m = T5EncoderModel(T5Config::from(c)).ptr();
  } else if (cls == "UNet2DConditionModel") {
    m = UNet2DConditionModel(UNetConfig::from(c)).ptr();
  } else if (cls == "AutoencoderKL" || cls == "AutoencoderTiny") {
    std::tie(m, prefix) = make_autoencoder_module(c);
  } else if (cls == "Transformer2DModel" || cls == "PixArtTransformer2DModel") {
    m = PixArtTransformer2DModel(PixArtTransformerConfig::from(c)).ptr();
  } else if (cls == "UVit2DModel") {
    m = UVit2DModel(UVit2DConfig::from(c)).ptr();
    jitter_constant_parameters(*m);
  } else if (cls == "VQModel") {
    m = VQModel(VQModelConfig::from(c), true).ptr();
    jitter_constant_parameters(*m);
  } else {
    c.bad("_class_name", "\"" + cls + "\": no random weights for this component type");
  }
  if (dtype != torch::kFloat32) m->to(dtype);  // drawn in fp32 whatever is stored: same values, rounded
  auto out = (dir / (stem + ".safetensors")).string();
  save_weights(*m, out, prefix);
  return out;
}

torch::Dtype stored_dtype(const std::string& name) {
  if (name == "fp32") return torch::kFloat32;
  if (name == "fp16") return torch::kFloat16;
  if (name == "bf16") return torch::kBFloat16;
  fail("--dtype \"{}\": expected fp32, fp16 or bf16", name);
}

}  // namespace

std::vector<std::string> write_random_weights(const std::string& folder, std::uint64_t seed, bool force,
                                              const std::string& dtype) {
  const auto stored = stored_dtype(dtype);
  if (!fs::is_directory(folder)) fail("{}: not a folder", folder);
  std::vector<std::string> written;
  if (fs::is_regular_file(fs::path(folder) / "model_index.json")) {
    std::uint64_t k = 0;
    for (const char* comp : {"text_encoder", "text_encoder_2", "unet", "vae", "transformer", "vqvae"}) {
      auto d = fs::path(folder) / comp;
      if (fs::is_directory(d)) {
        auto f = component(d, seed + 1000 * k, force, stored);
        if (!f.empty()) written.push_back(f);
      }
      ++k;
    }
  } else {
    auto f = component(folder, seed, force, stored);
    if (!f.empty())
      written.push_back(f);
    else if (!fs::is_regular_file(fs::path(folder) / "config.json"))
      fail("{}: neither a pipeline folder (model_index.json) nor a component folder (config.json)", folder);
  }
  return written;
}

}  // namespace catimage
