#pragma once
// A diffusers pipeline folder as users download it: model_index.json naming the pipeline
// class and its components, each in a subfolder with its config (config.json, or
// scheduler_config.json) and safetensors weights.
#include <string>
#include <vector>

#include "catimage/io/json_file.hpp"

namespace catimage {

struct PipelineFolder {
  std::string dir;
  std::string pipeline_class;  // StableDiffusionPipeline | StableDiffusionXLPipeline
  bool sdxl = false;
  bool force_zeros_for_empty_prompt = false;
  json model_index;

  std::string path(const std::string& component) const;  // dir/component
};

// "a diffusers pipeline folder (model_index.json, text_encoder/, ...)": what
// inspect_pipeline_folder requires of a StableDiffusionPipeline (sdxl: StableDiffusionXLPipeline).
std::string pipeline_folder_layout(bool sdxl);

// Reads model_index.json and checks, before any weights are read, that every component the
// pipeline needs is there (config and safetensors weights). The error lists every missing
// file with its expected path. `vae_override` (a folder or .safetensors file) replaces vae/.
PipelineFolder inspect_pipeline_folder(const std::string& dir, const std::string& vae_override = "");

}  // namespace catimage
