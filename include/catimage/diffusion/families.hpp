#pragma once
// The model families candidates name ("family" in a candidates config), in one table: a
// description, what a model folder of the family holds (for errors), and how to build its
// pipeline (null: a family this runtime cannot run, e.g. for CEMS tables and routing only).
// Torch-free: DiffusionPipeline and PipelineOptions are only declared here.
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace catimage {

class DiffusionPipeline;
struct PipelineOptions;

struct FamilyEntry {
  std::string name;           // "sd15"
  std::string description;    // for --help and errors
  std::string folder_layout;  // "a diffusers pipeline folder (model_index.json, ...)"; "" if it has none
  bool sdxl_layout = false;   // a StableDiffusionXLPipeline folder (text_encoder_2/, tokenizer_2/ too)
  std::function<std::unique_ptr<DiffusionPipeline>(const PipelineOptions&)> make;  // null: cannot run here
};

const std::vector<FamilyEntry>& family_registry();
const FamilyEntry* find_family(const std::string& name);  // nullptr if unknown
// The names in registry order, for --help and errors; runnable_only: those with a factory.
std::string family_names(const std::string& sep = ", ", bool runnable_only = false);

}  // namespace catimage
