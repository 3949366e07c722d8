#include "catimage/diffusion/model_folder.hpp"

#include <spdlog/fmt/ranges.h>

#include <filesystem>

#include "catimage/io/weights.hpp"
#include "catimage/util/error.hpp"

namespace fs = std::filesystem;

namespace catimage {

std::string pipeline_folder_layout(bool sdxl) {
  return std::string(
             "a diffusers pipeline folder (model_index.json, text_encoder/, tokenizer/, unet/, vae/, scheduler/") +
         (sdxl ? ", text_encoder_2/, tokenizer_2/)" : ")");
}

std::string PipelineFolder::path(const std::string& component) const { return (fs::path(dir) / component).string(); }

PipelineFolder inspect_pipeline_folder(const std::string& dir, const std::string& vae_override) {
  PipelineFolder f;
  f.dir = dir;
  std::error_code ec;  // paths the user gave: a symlink loop or no permission is an input error naming it
  if (!fs::is_directory(dir, ec)) {
    if (ec) fail("model folder {} cannot be read: {}", dir, ec.message());
    fail(
        "model folder {} does not exist; it should be {}, e.g. from `huggingface-cli download stabilityai/sd-turbo "
        "--local-dir {}`",
        dir, pipeline_folder_layout(false), dir);
  }
  auto index = fs::path(dir) / "model_index.json";
  if (!fs::is_regular_file(index, ec)) fail("{}: no model_index.json; is this a diffusers pipeline folder?", dir);
  f.model_index = read_json_file(index.string());
  if (!f.model_index.is_object() || !f.model_index.contains("_class_name") || !f.model_index["_class_name"].is_string())
    fail("{}: expected an object with \"_class_name\"", index.string());
  f.pipeline_class = f.model_index["_class_name"].get<std::string>();
  if (f.pipeline_class == "StableDiffusionXLPipeline") {
    f.sdxl = true;
  } else if (f.pipeline_class != "StableDiffusionPipeline") {
    fail("{}: pipeline \"{}\" is not supported (StableDiffusionPipeline for SD1.x/SD2.x, StableDiffusionXLPipeline)",
         index.string(), f.pipeline_class);
  }
  if (f.model_index.contains("force_zeros_for_empty_prompt") &&
      f.model_index["force_zeros_for_empty_prompt"].is_boolean())
    f.force_zeros_for_empty_prompt = f.model_index["force_zeros_for_empty_prompt"].get<bool>();

  std::vector<std::string> missing;
  auto need_file = [&](const fs::path& p) {
    if (fs::is_regular_file(p, ec)) return;
    const bool unreadable = ec && ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory;
    missing.push_back(unreadable ? p.string() + " (" + ec.message() + ")" : p.string());
  };
  auto need_weights = [&](const std::string& comp, const std::string& stem) {
    auto d = fs::path(dir) / comp;
    need_file(d / "config.json");
    if (!WeightFiles::exists(d.string(), stem)) {
      std::string also;
      for (const char* ext : {".bin", ".ckpt"})
        if (fs::is_regular_file(d / (stem + ext), ec))
          also = fmt::format(" (only {}{} found: pickled weights are never loaded)", stem, ext);
      missing.push_back((d / (stem + ".safetensors")).string() + also);
    }
  };
  std::vector<std::string> encoders = {"text_encoder"}, tokenizers = {"tokenizer"};
  if (f.sdxl) encoders.push_back("text_encoder_2"), tokenizers.push_back("tokenizer_2");
  for (const auto& c : encoders) {
    if (f.model_index.contains(c) && f.model_index[c].is_array() && !f.model_index[c].empty() &&
        f.model_index[c][0].is_null())
      fail(
          "{}: the pipeline has no {} (e.g. an SDXL refiner); only text-to-image pipelines with all their text "
          "encoders "
          "are supported",
          index.string(), c);
    need_weights(c, "model");
  }
  for (const auto& t : tokenizers) {
    need_file(fs::path(dir) / t / "vocab.json");
    need_file(fs::path(dir) / t / "merges.txt");
  }
  need_weights("unet", "diffusion_pytorch_model");
  if (vae_override.empty()) {
    need_weights("vae", "diffusion_pytorch_model");
  } else if (fs::is_directory(vae_override, ec)) {
    need_file(fs::path(vae_override) / "config.json");
    if (!WeightFiles::exists(vae_override, "diffusion_pytorch_model"))
      missing.push_back((fs::path(vae_override) / "diffusion_pytorch_model.safetensors").string());
  } else {
    need_file(vae_override);
    need_file(fs::path(vae_override).parent_path() / "config.json");
  }
  need_file(fs::path(dir) / "scheduler" / "scheduler_config.json");
  if (!missing.empty()) fail("model folder {} is incomplete; missing: {}", dir, fmt::join(missing, ", "));
  return f;
}

}  // namespace catimage
