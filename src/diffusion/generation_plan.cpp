#include "catimage/diffusion/generation_plan.hpp"

#include <cmath>
#include <filesystem>
#include <utility>

#include "catimage/diffusion/device.hpp"
#include "catimage/diffusion/families.hpp"
#include "catimage/diffusion/loaders/model_source.hpp"
#include "catimage/diffusion/loaders/shipped_configs.hpp"
#include "catimage/diffusion/loaders/single_file.hpp"
#include "catimage/diffusion/schedulers/registry.hpp"
#include "catimage/diffusion/schedulers/sampler_names.hpp"
#include "catimage/io/model_ref.hpp"
#include "catimage/util/error.hpp"

namespace catimage {

void check_overrides(const GenerationOverrides& o) {
  if (o.steps && *o.steps < 1) fail("--steps must be at least 1, got {}", *o.steps);
  for (auto [name, v] : {std::pair{"--width", o.width}, {"--height", o.height}})
    if (v && (*v < 8 || *v % 8 != 0 || *v > 8192))
      fail("{} must be a multiple of 8 between 8 and 8192, got {}", name, *v);
  if (o.guidance && !std::isfinite(*o.guidance)) fail("--guidance must be a finite number, got {}", *o.guidance);
  resolve_dtype(o.dtype, resolve_device(o.device));  // errors name --device / --dtype
}

GenerationPlan plan(const Candidate& c, const GenerationOverrides& o, const std::string& config) {
  using Verdict = GenerationPlan::Verdict;
  GenerationPlan p;
  p.candidate = c.name;
  const std::string who = fmt::format("{}: candidate \"{}\"", config, c.name);
  auto stop = [&](Verdict v, std::string why, std::string reason) {
    p.verdict = v;
    p.why = std::move(why);
    p.reason = std::move(reason);
    return p;
  };
  auto cannot = [&](std::string why) { return stop(Verdict::cannot_run_here, why, who + ": " + why); };
  auto refuse = [&](std::string why) { return stop(Verdict::refused, why, who + ": " + why); };

  const FamilyEntry* f = p.family = find_family(c.family);
  if (!f) return cannot(fmt::format("family \"{}\" is unknown (families: {})", c.family, family_names()));
  if (!f->make)
    return cannot(
        fmt::format("family \"{}\" is not run by this runtime (it runs {})", c.family, family_names(", ", true)));
  if (!c.weights)
    return stop(Verdict::cannot_run_here, "no \"weights\" folder in the config",
                fmt::format("{} has no \"weights\": add the path of its {} to the config", who, f->folder_layout));
  std::string folder, configs, vae;
  std::vector<LoraFileOption> loras;
  try {  // a Hugging Face repo id not in the local cache cannot run here
    folder = resolve_model_ref(*c.weights);
    if (c.config) configs = find_shipped_config(*c.config) ? *c.config : resolve_model_ref(*c.config);
    if (c.vae) vae = resolve_model_ref(*c.vae);
    for (const auto& l : c.lora) loras.push_back({resolve_file_ref(l.weights, "", "LoRA", kLoraDefaultFile), l.scale});
  } catch (const Error& e) {
    return cannot(e.what());
  }
  for (std::size_t i = 0; i < loras.size(); ++i)
    if (std::error_code ec; !std::filesystem::is_regular_file(loras[i].file, ec))
      return refuse(fmt::format("lora[{}]: {} is not a file (a LoRA is one .safetensors file)", i, loras[i].file));
  try {
    check_overrides(o);
  } catch (const Error& e) {
    return refuse(e.what());
  }

  // The command line over the candidate over the family's defaults.
  p.steps = o.steps.value_or(c.steps.value_or(f->default_steps));
  p.width = o.width.value_or(c.width.value_or(0));
  p.height = o.height.value_or(c.height.value_or(0));
  p.guidance = o.guidance.value_or(c.guidance.value_or(f->default_guidance));
  p.pipeline.folder = folder;
  p.pipeline.config = configs;
  p.pipeline.vae = vae;
  p.pipeline.device = o.device;
  p.pipeline.dtype = o.dtype;
  p.pipeline.channels_last = o.channels_last;
  p.pipeline.loras = loras;
  p.dtype = dtype_label(resolve_dtype(o.dtype, resolve_device(o.device), f->cpu_bf16));  // what the pipeline resolves

  if (c.scheduler) {
    SamplerChoice s;
    try {
      s = parse_sampler(*c.scheduler);
    } catch (const Error& e) {
      return refuse(std::string("scheduler: ") + e.what());
    }
    // one spelling per sampler and schedule ("DPM++ 2M Karras" -> "dpmpp_2m karras"): the image key hashes it
    p.pipeline.scheduler = s.canonical();
    if (f->schedulers.empty() && !s.scheduler->make)  // families with their own samplers check theirs in inspect
      return refuse(fmt::format("scheduler \"{}\" is not implemented by this runtime (it runs {})", *c.scheduler,
                                sampler_names_help()));
  }
  if (is_checkpoint_file(folder)) {
    // A single file's tokenizers come from the hub repos its configs name: one not in the cache,
    // like a model not in it, cannot run here.
    std::optional<ModelSource> src;
    try {
      src = ModelSource::open(p.pipeline);
    } catch (const Error& e) {
      return refuse(e.what());
    }
    try {
      for (const char* t : {"tokenizer", "tokenizer_2"})
        if (src->index().index.contains(t)) src->tokenizer_files(t);
    } catch (const Error& e) {
      return cannot(e.what());
    }
  }
  try {
    inspect_model_folder(p.pipeline, f);  // what the family's pipeline would refuse, before any work
    // A single file runs with the configs chosen now (which the image key records), whatever the defaults become.
    if (is_checkpoint_file(folder)) p.pipeline.config = ModelSource::open(p.pipeline).config_dir();
  } catch (const Error& e) {
    return refuse(e.what());
  }
  for (auto [name, v] : {std::pair{"width", p.width}, {"height", p.height}})
    if (v != 0 && (v < 8 || v % 8 != 0)) return refuse(fmt::format("{} {} is not a positive multiple of 8", name, v));
  if (!std::isfinite(p.guidance)) return refuse("guidance must be finite");
  if (p.steps < 1) return refuse(fmt::format("steps {} is not at least 1", p.steps));
  return p;
}

}  // namespace catimage
