#include "catimage/diffusion/random_weights.hpp"

#include <filesystem>

#include "catimage/diffusion/config_view.hpp"
#include "catimage/diffusion/models/autoencoder.hpp"
#include "catimage/diffusion/models/clip_text_model.hpp"
#include "catimage/diffusion/models/unet_2d_condition.hpp"
#include "catimage/io/weights.hpp"
#include "catimage/util/error.hpp"

namespace fs = std::filesystem;

namespace catimage {

namespace {

// One component folder; returns the written file or "".
std::string component(const fs::path& dir, std::uint64_t seed, bool force) {
  auto cfg_path = dir / "config.json";
  if (!fs::is_regular_file(cfg_path)) return "";
  auto c = ConfigView::load(cfg_path.string());
  std::string cls = c.get_string("_class_name", "");
  if (cls.empty() && c.has("architectures")) cls = "CLIP";
  const bool is_text = cls == "CLIP" || cls == "CLIPTextModel" || cls == "CLIPTextModelWithProjection";
  const std::string stem = is_text ? "model" : "diffusion_pytorch_model";
  if (!force && WeightFiles::exists(dir.string(), stem)) return "";
  torch::manual_seed(seed);
  std::shared_ptr<torch::nn::Module> m;
  std::string prefix;
  if (is_text) {
    m = ClipTextModel(ClipTextConfig::from(c)).ptr();
  } else if (cls == "UNet2DConditionModel") {
    m = UNet2DConditionModel(UNetConfig::from(c)).ptr();
  } else if (cls == "AutoencoderKL" || cls == "AutoencoderTiny") {
    std::tie(m, prefix) = make_autoencoder_module(c);
  } else {
    c.bad("_class_name", "\"" + cls + "\": no random weights for this component type");
  }
  auto out = (dir / (stem + ".safetensors")).string();
  save_weights(*m, out, prefix);
  return out;
}

}  // namespace

std::vector<std::string> write_random_weights(const std::string& folder, std::uint64_t seed, bool force) {
  if (!fs::is_directory(folder)) fail("{}: not a folder", folder);
  std::vector<std::string> written;
  if (fs::is_regular_file(fs::path(folder) / "model_index.json")) {
    std::uint64_t k = 0;
    for (const char* comp : {"text_encoder", "text_encoder_2", "unet", "vae"}) {
      auto d = fs::path(folder) / comp;
      if (fs::is_directory(d)) {
        auto f = component(d, seed + 1000 * k, force);
        if (!f.empty()) written.push_back(f);
      }
      ++k;
    }
  } else {
    auto f = component(folder, seed, force);
    if (!f.empty())
      written.push_back(f);
    else if (!fs::is_regular_file(fs::path(folder) / "config.json"))
      fail("{}: neither a pipeline folder (model_index.json) nor a component folder (config.json)", folder);
  }
  return written;
}

}  // namespace catimage
