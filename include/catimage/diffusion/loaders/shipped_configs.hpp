#pragma once
// The pipeline configs catimage ships for single-file checkpoints, which hold weights only:
// configs/pipelines/NAME/ is a diffusers pipeline folder without weights (model_index.json, the
// components' config.json, scheduler/, the CLIP tokenizers), one per published pipeline a single
// file may be a copy of, named after the Hugging Face repo it mirrors — the folders diffusers'
// from_single_file fetches (DIFFUSERS_DEFAULT_PIPELINE_PATHS), here without a network.
#include <string>
#include <vector>

namespace catimage {

struct ShippedConfig {
  std::string name;         // "sd-turbo": configs/pipelines/sd-turbo
  std::string repo;         // "stabilityai/sd-turbo": the repo whose configs it mirrors
  std::string family;       // the model family of its pipeline (diffusion/families)
  std::string description;  // size, prediction type, scheduler: what tells it from its family's others
};

const std::vector<ShippedConfig>& shipped_configs();
// By name or by repo id; nullptr if none.
const ShippedConfig* find_shipped_config(const std::string& name_or_repo);
std::string shipped_config_names(const std::string& sep = ", ");
// Its folder among the shipped data (util/paths find_resource); fails naming where it looked.
std::string shipped_config_dir(const ShippedConfig& c);

}  // namespace catimage
