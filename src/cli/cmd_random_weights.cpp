// catimage random-weights: seeded random safetensors for a diffusers folder of configs.
#include "catimage/diffusion/random_weights.hpp"
#include "catimage/scoring/clip_model.hpp"
#include "catimage/scoring/nima_model.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"

namespace catimage::cli {

namespace {
struct RandomWeightsOptions {
  std::string folder;
  std::uint64_t seed = 0;
  bool force = false;
  std::string dtype = "fp32";
};
}  // namespace

Runner add_random_weights(CLI::App& app) {
  auto o = std::make_shared<RandomWeightsOptions>();
  auto* c = app.add_subcommand("random-weights",
                               "Write seeded random weights for a diffusers folder that has configs only "
                               "(tiny test models, architecture benchmarks)");
  c->add_option("folder", o->folder,
                "Pipeline folder (model_index.json), component folder (config.json), CLIPModel folder or NIMA folder "
                "(config.json with \"model_type\": \"nima\")")
      ->required();
  c->add_option("--seed", o->seed, "Seed (default 0)")->check(kSeed);
  c->add_flag("--force", o->force, "Overwrite existing weights");
  c->add_option("--dtype", o->dtype, "What the diffusers folders' files store: fp32 (default), fp16 or bf16");
  return [o] {
    std::vector<std::string> files;
    if (o->dtype != "fp32" && (is_clip_model_folder(o->folder) || is_nima_folder(o->folder)))
      fail("{}: --dtype {}: scorer folders (CLIPModel, NIMA) get fp32 weights only", o->folder, o->dtype);
    if (is_clip_model_folder(o->folder)) {  // a transformers CLIPModel folder (catimage_scoring)
      auto f = write_random_clip_model_weights(o->folder, o->seed, o->force);
      if (!f.empty()) files.push_back(f);
    } else if (is_nima_folder(o->folder)) {  // a NIMA scorer folder (catimage_scoring)
      auto f = write_random_nima_weights(o->folder, o->seed, o->force);
      if (!f.empty()) files.push_back(f);
    } else {
      files = write_random_weights(o->folder, o->seed, o->force, o->dtype);
    }
    for (const auto& f : files) spdlog::info("wrote {}", f);
    if (files.empty()) spdlog::info("{}: every component already has weights (use --force to replace them)", o->folder);
    return 0;
  };
}

}  // namespace catimage::cli
