#include "catimage/diffusion/families.hpp"

#include "catimage/diffusion/model_folder.hpp"
#include "catimage/diffusion/pipeline.hpp"
#include "registry_names.hpp"

namespace catimage {

namespace {

std::unique_ptr<DiffusionPipeline> make_diffusion_pipeline(const PipelineOptions& o) {
  return std::make_unique<DiffusionPipeline>(o);
}

}  // namespace

const std::vector<FamilyEntry>& family_registry() {
  static const std::vector<FamilyEntry> registry = {
      {"sd15", "Stable Diffusion 1.x (StableDiffusionPipeline)", pipeline_folder_layout(false), false,
       make_diffusion_pipeline},
      {"sd21", "Stable Diffusion 2.x, e.g. SD-Turbo (StableDiffusionPipeline)", pipeline_folder_layout(false), false,
       make_diffusion_pipeline},
      {"sdxl", "Stable Diffusion XL, e.g. SDXL-Turbo (StableDiffusionXLPipeline)", pipeline_folder_layout(true), true,
       make_diffusion_pipeline},
      {"amused", "aMUSEd masked image transformer (AmusedPipeline); not runnable by this runtime",
       "a diffusers AmusedPipeline folder (model_index.json, text_encoder/, tokenizer/, transformer/, vqvae/, "
       "scheduler/)",
       false, nullptr},
      {"other", "any generator outside this runtime (routing and evaluation only)", "", false, nullptr},
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

}  // namespace catimage
