#include "catimage/diffusion/families.hpp"

#include <spdlog/fmt/ranges.h>

#include <algorithm>

#include "catimage/diffusion/amused_pipeline.hpp"
#include "catimage/diffusion/loaders/lora.hpp"
#include "catimage/diffusion/model_folder.hpp"
#include "catimage/diffusion/pipeline.hpp"
#include "catimage/diffusion/pixart_pipeline.hpp"
#include "catimage/util/error.hpp"
#include "registry_names.hpp"

namespace catimage {

namespace {

std::unique_ptr<ImagePipeline> make_unet_pipeline(const PipelineOptions& o) {
  return std::make_unique<DiffusionPipeline>(o);
}

void inspect_unet(const PipelineOptions& o) {
  const PipelineFolder f = inspect_pipeline_folder(o.folder, o.vae);
  check_loras(o.loras, pipeline_lora_components(f), f.pipeline_class);
}

}  // namespace

const std::vector<FamilyEntry>& family_registry() {
  static const std::vector<FamilyEntry> registry = {
      {"sd15",
       "Stable Diffusion 1.x (StableDiffusionPipeline)",
       pipeline_folder_layout(false),
       {kSdPipelineClass},
       50,
       7.5,
       {},
       inspect_unet,
       make_unet_pipeline},
      {"sd21",
       "Stable Diffusion 2.x, e.g. SD-Turbo (StableDiffusionPipeline)",
       pipeline_folder_layout(false),
       {kSdPipelineClass},
       50,
       7.5,
       {},
       inspect_unet,
       make_unet_pipeline},
      {"sdxl",
       "Stable Diffusion XL, e.g. SDXL-Turbo (StableDiffusionXLPipeline)",
       pipeline_folder_layout(true),
       {kSdxlPipelineClass},
       50,
       7.5,
       {},
       inspect_unet,
       make_unet_pipeline},
      {"amused",
       "aMUSEd masked image transformer over VQ tokens, e.g. amused/amused-512 (AmusedPipeline)",
       amused_folder_layout(),
       {kAmusedPipelineClass},
       12,
       10.0,
       {"amused"},
       check_amused_options,
       make_amused_pipeline,
       AmusedPipeline::kCpuBf16},
      {"pixart",
       "PixArt-alpha / PixArt-Sigma DiT with a T5 encoder (PixArtAlphaPipeline, PixArtSigmaPipeline)",
       pixart_folder_layout(),
       pixart_pipeline_classes(),
       20,
       4.5,
       {},
       [](const PipelineOptions& o) { check_pixart_options(o); },
       make_pixart_pipeline},
      {"other",
       "any generator outside this runtime (routing and evaluation only)",
       "",
       {},
       0,  // never generated here
       0,
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

namespace {

bool holds(const std::vector<std::string>& classes, const std::string& cls) {
  return std::find(classes.begin(), classes.end(), cls) != classes.end();
}

}  // namespace

const FamilyEntry& folder_family(const ModelIndex& mi) {
  std::vector<std::string> runs;
  for (const auto& e : family_registry()) {
    if (!e.make) continue;
    if (holds(e.pipeline_classes, mi.pipeline_class)) return e;
    for (const auto& c : e.pipeline_classes)
      if (!holds(runs, c)) runs.push_back(c);
  }
  fail("{}: pipeline \"{}\" is not run by this runtime (it runs {})", mi.file, mi.pipeline_class, fmt::join(runs, ", "));
}

const FamilyEntry& inspect_model_folder(const PipelineOptions& o, const FamilyEntry* family) {
  const ModelIndex mi = read_model_index(o.folder, family ? family->folder_layout : "");
  if (!family) {
    family = &folder_family(mi);
  } else if (!family->inspect) {
    fail("family \"{}\" is not run by this runtime (it runs {})", family->name, family_names(", ", true));
  } else if (!holds(family->pipeline_classes, mi.pipeline_class)) {
    fail("{} holds a {} ({}), not a folder of family \"{}\" ({})", o.folder, mi.pipeline_class, mi.file, family->name,
         fmt::join(family->pipeline_classes, " or "));
  }
  family->inspect(o);
  return *family;
}

}  // namespace catimage
