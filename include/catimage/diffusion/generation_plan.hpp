#pragma once
// What generating with one candidate comes to, answered once by its family's registry entry
// (diffusion/families) for every caller (generate, route --generate, sweep, cascade): the
// settings (the command line over the candidate over the family's defaults), the options its
// pipeline is built with, or the reason it cannot run. Torch-free.
#include <optional>
#include <string>

#include "catimage/diffusion/pipeline_options.hpp"
#include "catimage/io/candidates_config.hpp"

namespace catimage {

struct FamilyEntry;

// The file a LoRA reference naming a hub repo without a file takes when the snapshot holds it
// (diffusers' LORA_WEIGHT_NAME_SAFE; else the snapshot's only .safetensors).
constexpr const char* kLoraDefaultFile = "pytorch_lora_weights.safetensors";

// The command line's part of a candidate's generation: overrides of its settings and where it
// runs.
struct GenerationOverrides {
  std::optional<int> steps, width, height;  // --steps, --width, --height
  std::optional<double> guidance;           // --guidance
  std::string device = "auto", dtype = "auto";
  bool channels_last = false;
};

struct GenerationPlan {
  enum class Verdict {
    runs,
    cannot_run_here,  // a family this runtime does not run, no "weights", a repo id not in the hub cache
    refused,          // it could run but not like this (its folder, scheduler, size, an option): an error
  };
  Verdict verdict = Verdict::runs;
  std::string why;     // "" when it runs; else why, e.g. `no "weights" folder in the config`
  std::string reason;  // "" when it runs; else the error: the config, the candidate, the option or file
  std::string candidate;
  const FamilyEntry* family = nullptr;  // null only for an unknown family
  // folder (its "weights"), config (a single file's config folder, as chosen), vae, scheduler (the
  // candidate's sampler name in its canonical form, e.g. "dpmpp_2m karras"; "": the folder's), device,
  // dtype, loras
  PipelineOptions pipeline;
  int steps = 0;
  int width = 0, height = 0;  // 0: the model's default size
  double guidance = 0;
  std::string dtype;  // the resolved --dtype: fp32 | fp16 | bf16

  bool runs() const { return verdict == Verdict::runs; }
};

// Checks the command line's overrides alone (steps, sizes, guidance, device, dtype) before any
// model loads; errors name the option.
void check_overrides(const GenerationOverrides& o);

// Candidate `c` of the config `config` (for messages) with overrides `o`: its family's entry
// gives the defaults and checks the rest before any weights are read (family, "weights",
// scheduler, the folder's files and configs, the options, the sizes).
GenerationPlan plan(const Candidate& c, const GenerationOverrides& o, const std::string& config);

}  // namespace catimage
