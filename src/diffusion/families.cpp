#include "catimage/diffusion/families.hpp"

#include <filesystem>

#include "catimage/diffusion/amused_pipeline.hpp"
#include "catimage/diffusion/model_folder.hpp"
#include "catimage/diffusion/pipeline.hpp"
#include "catimage/diffusion/pixart_pipeline.hpp"
#include "catimage/io/json_file.hpp"
#include "catimage/util/error.hpp"
#include "registry_names.hpp"

namespace fs = std::filesystem;

namespace catimage {

namespace {

std::unique_ptr<ImagePipeline> make_unet_pipeline(const PipelineOptions& o) {
  return std::make_unique<DiffusionPipeline>(o);
}

void inspect_unet(const PipelineOptions& o) { inspect_pipeline_folder(o.folder, o.vae); }

}  // namespace

const std::vector<FamilyEntry>& family_registry() {
  static const std::vector<FamilyEntry> registry = {
      {"sd15",
       "Stable Diffusion 1.x (StableDiffusionPipeline)",
       pipeline_folder_layout(false),
       {"StableDiffusionPipeline"},
       50,
       7.5,
       {},
       inspect_unet,
       make_unet_pipeline},
      {"sd21",
       "Stable Diffusion 2.x, e.g. SD-Turbo (StableDiffusionPipeline)",
       pipeline_folder_layout(false),
       {"StableDiffusionPipeline"},
       50,
       7.5,
       {},
       inspect_unet,
       make_unet_pipeline},
      {"sdxl",
       "Stable Diffusion XL, e.g. SDXL-Turbo (StableDiffusionXLPipeline)",
       pipeline_folder_layout(true),
       {"StableDiffusionXLPipeline"},
       50,
       7.5,
       {},
       inspect_unet,
       make_unet_pipeline},
      {"amused",
       "aMUSEd masked image transformer over VQ tokens, e.g. amused/amused-512 (AmusedPipeline)",
       amused_folder_layout(),
       {"AmusedPipeline"},
       12,
       10.0,
       {"amused"},
       check_amused_options,
       make_amused_pipeline},
      {"pixart",
       "PixArt-alpha / PixArt-Sigma DiT with a T5 encoder (PixArtAlphaPipeline, PixArtSigmaPipeline)",
       pixart_folder_layout(),
       {"PixArtAlphaPipeline", "PixArtSigmaPipeline"},
       20,
       4.5,
       {},
       [](const PipelineOptions& o) { check_pixart_options(o); },
       make_pixart_pipeline},
      {"other",
       "any generator outside this runtime (routing and evaluation only)",
       "",
       {},
       50,
       7.5,
       {},
       nullptr,
       nullptr},
  };
  return registry;
}

const FamilyEntry* find_family(const std::string& name) {
  for (const auto& e : family_registry())
    if (e.name == name) return &e;
  return nullptr;
}

std::string family_names(const std::string& sep, bool runnable_only) {
  return registry_names(family_registry(), sep, runnable_only);
}

std::string folder_pipeline_class(const std::string& folder) {
  std::error_code ec;  // a path the user gave: a symlink loop or no permission is an input error naming it
  if (!fs::is_directory(folder, ec))
    fail("model folder {} {}", folder, ec ? "cannot be read: " + ec.message() : std::string("does not exist"));
  const auto index = fs::path(folder) / "model_index.json";
  if (!fs::is_regular_file(index, ec)) fail("{}: no model_index.json; is this a diffusers pipeline folder?", folder);
  const json j = read_json_file(index.string());
  if (!j.is_object() || !j.contains("_class_name") || !j["_class_name"].is_string())
    fail("{}: expected an object with \"_class_name\"", index.string());
  return j["_class_name"].get<std::string>();
}

}  // namespace catimage
