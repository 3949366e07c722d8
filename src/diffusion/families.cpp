#include "catimage/diffusion/families.hpp"

#include <spdlog/fmt/ranges.h>

#include <algorithm>

#include "catimage/diffusion/amused_pipeline.hpp"
#include "catimage/diffusion/loaders/lora.hpp"
#include "catimage/diffusion/loaders/model_source.hpp"
#include "catimage/diffusion/loaders/single_file.hpp"
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
  const PipelineFolder f = inspect_pipeline_folder(o);
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
  fail("{}: pipeline \"{}\" is not run by this runtime (it runs {})", mi.file, mi.pipeline_class,
       fmt::join(runs, ", "));
}

const FamilyEntry& model_family(const ModelSource& src) {
  if (src.single_file()) {
    const FamilyEntry* f = find_family(src.file_family());
    if (!f) fail("{}: family {} is not in the registry", src.model(), src.file_family());
    return *f;
  }
  return folder_family(src.index());
}

const FamilyEntry& model_family(const PipelineOptions& o, const std::string& expected) {
  return model_family(ModelSource::open(o, expected));
}

const FamilyEntry& inspect_model_folder(const PipelineOptions& o, const FamilyEntry* family) {
  if (family && std::none_of(checkpoint_layouts().begin(), checkpoint_layouts().end(),
                             [&](const CheckpointLayout& l) { return l.family == family->name; }))
    ModelSource::require_folder(o.folder, "family " + family->name);
  const ModelSource src = ModelSource::open(o, family ? family->folder_layout : "");
  const ModelIndex& mi = src.index();
  if (!family) {
    family = &model_family(src);
  } else if (!family->inspect) {
    fail("family \"{}\" is not run by this runtime (it runs {})", family->name, family_names(", ", true));
  } else if (!holds(family->pipeline_classes, mi.pipeline_class)) {
    fail("{} holds a {} ({}), not a folder of family \"{}\" ({})", src.describe(), mi.pipeline_class, mi.file,
         family->name, fmt::join(family->pipeline_classes, " or "));
  } else if (src.single_file() && src.file_family() != family->name) {
    fail("{} is a checkpoint of family {}, not \"{}\"", o.folder, src.file_family(), family->name);
  }
  family->inspect(o);
  return *family;
}

}  // namespace catimage
