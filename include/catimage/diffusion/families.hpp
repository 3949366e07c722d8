#pragma once
// The model families candidates name ("family" in a candidates config), in one table: a
// description, what a model folder of the family holds (for errors), the pipeline classes
// such a folder's model_index.json may name, the defaults a candidate without "steps" or
// "guidance" gets (stated here only: a candidate's GenerationPlan takes them from its entry
// and the pipelines receive them), how to check a folder before any work starts, and how to
// build its pipeline (null: a family this runtime cannot run, e.g. for CEMS tables and
// routing only).
// Torch-free: ImagePipeline and PipelineOptions are only declared here.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "catimage/diffusion/model_folder.hpp"

namespace catimage {

class ImagePipeline;
class ModelSource;
struct PipelineOptions;

struct FamilyEntry {
  std::string name;                           // "sd15"
  std::string description;                    // for --help and errors
  std::string folder_layout;                  // "a diffusers pipeline folder (model_index.json, ...)"; "" if none
  std::vector<std::string> pipeline_classes;  // model_index.json "_class_name" values of its folders
  // What a candidate without "steps" / "guidance" (and no --steps / --guidance) gets; 0 for a
  // family that cannot run here.
  int default_steps = 0;
  double default_guidance = 0;
  // The "scheduler" values a candidate may name: empty = any runnable one of the scheduler
  // registry (diffusion/schedulers); otherwise only these (a family with its own sampler).
  std::vector<std::string> schedulers;
  // Everything make(o) would refuse, checked before any weights are read: the folder (missing
  // or bad files, unsupported config values) and the options the family does not implement
  // (a decoder override, a foreign scheduler, channels-last). Fails naming the file or the
  // option. Null where `make` is null.
  std::function<void(const PipelineOptions& o)> inspect;
  std::function<std::unique_ptr<ImagePipeline>(const PipelineOptions&)> make;  // null: cannot run here
  // Whether --dtype auto may run the family in bf16 on a CPU that has it (diffusion/device
  // resolve_dtype); its pipeline resolves its dtype with the same flag.
  bool cpu_bf16 = true;
};

const std::vector<FamilyEntry>& family_registry();
const FamilyEntry* find_family(const std::string& name);  // nullptr if unknown
// The names in registry order, for --help and errors; runnable_only: those with a factory.
std::string family_names(const std::string& sep = ", ", bool runnable_only = false);
// The family of a model folder: the first runnable one whose pipeline_classes hold its
// model_index.json "_class_name" (a StableDiffusionPipeline folder: sd15). Fails naming the
// file when this runtime runs no such pipeline.
const FamilyEntry& folder_family(const ModelIndex& mi);

// The family of a model: a folder's by its class (folder_family), a single-file checkpoint's
// by its layout (diffusion/loaders/single_file).
const FamilyEntry& model_family(const ModelSource& src);
// The same for o.folder (and o.config), with `expected` saying what a missing folder should be.
const FamilyEntry& model_family(const PipelineOptions& o, const std::string& expected);

// The one check of a model before any weights are read, whatever its family: opens o.folder
// (a folder's model_index.json, or a single file's header and configs:
// diffusion/loaders/model_source); takes `family` (its pipeline classes must hold the model's,
// and a single file's layout must be of it) or, when null, the model's own family
// (model_family); then runs that family's inspect (the files, configs and options its
// pipeline would refuse). Returns the family. Fails naming the folder or file.
const FamilyEntry& inspect_model_folder(const PipelineOptions& o, const FamilyEntry* family = nullptr);

}  // namespace catimage
