#include "catimage/diffusion/loaders/shipped_configs.hpp"

#include <spdlog/fmt/ranges.h>

#include "catimage/util/error.hpp"
#include "catimage/util/paths.hpp"

namespace catimage {

const std::vector<ShippedConfig>& shipped_configs() {
  static const std::vector<ShippedConfig> configs = {
      {"sd15", "stable-diffusion-v1-5/stable-diffusion-v1-5", "sd15",
       "Stable Diffusion 1.5 (runwayml/stable-diffusion-v1-5): 512x512, epsilon, PNDM"},
      {"sd21", "stabilityai/stable-diffusion-2-1", "sd21", "Stable Diffusion 2.1: 768x768, v-prediction, DDIM"},
      {"sd21-base", "stabilityai/stable-diffusion-2-1-base", "sd21",
       "Stable Diffusion 2.1 base: 512x512, epsilon, PNDM"},
      {"sd-turbo", "stabilityai/sd-turbo", "sd21", "SD-Turbo: 512x512, epsilon, Euler with trailing timesteps"},
      {"sdxl", "stabilityai/stable-diffusion-xl-base-1.0", "sdxl", "SDXL 1.0 base: 1024x1024, epsilon, Euler"},
      {"sdxl-turbo", "stabilityai/sdxl-turbo", "sdxl",
       "SDXL-Turbo: 512x512, epsilon, Euler ancestral with trailing timesteps"},
  };
  return configs;
}

const ShippedConfig* find_shipped_config(const std::string& name_or_repo) {
  for (const auto& c : shipped_configs())
    if (c.name == name_or_repo || c.repo == name_or_repo) return &c;
  if (name_or_repo == "runwayml/stable-diffusion-v1-5") return find_shipped_config("sd15");  // its former id
  return nullptr;
}

std::string shipped_config_names(const std::string& sep) {
  std::vector<std::string> names;
  for (const auto& c : shipped_configs()) names.push_back(c.name);
  return fmt::format("{}", fmt::join(names, sep));
}

std::string shipped_config_dir(const ShippedConfig& c) {
  const std::string rel = "configs/pipelines/" + c.name;
  std::string dir = find_resource(rel + "/model_index.json");
  if (dir.empty())
    fail("the shipped pipeline configs {} are missing (looked for {} in {}); is the installation complete?", c.name,
         rel, fmt::join(resource_roots(), ", "));
  return dir.substr(0, dir.size() - std::string("/model_index.json").size());
}

}  // namespace catimage
