#pragma once
// The candidates config (configs/*.json): the generators the router chooses among.
//
// {
//   "description": "...",                       (optional)
//   "candidates": [
//     {"name": "SD-Turbo", "family": "sd21", "weights": "weights/sd-turbo",
//      "config": "sd-turbo",                     (optional: a single-file checkpoint's configs)
//      "steps": 1, "scheduler": "Euler a", "guidance": 0.0,
//      "width": 512, "height": 512,
//      "lora": [{"weights": "latent-consistency/lcm-lora-sdv1-5", "scale": 1.0}],
//      "cost": {"value": 0.176, "unit": "seconds"}}
//   ]
// }
// "lora" (optional): LoRAs merged into the weights at load, in order; each "weights" is a
// .safetensors file (relative to the config's folder) or a hub reference org/name[@revision]
// [/file] (see io/model_ref resolve_file_ref); "scale" (default 1) is any finite number.
// "cost" may say "estimate": true (a figure not yet measured on the machine that will run
// it, e.g. scaled from published timings); route and generate then say so in their logs.
// name, family and cost are required; the generation settings are optional for route-only use
// and checked by `generate`. Unknown keys, duplicate names, negative or non-finite costs, mixed
// cost units and wrong types are errors naming the file and the key. Which families and
// schedulers exist is the runtime's business (its registries): callers pass them as
// CandidateRules.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "catimage/io/json_file.hpp"

namespace catimage {

// A LoRA a candidate merges into its weights: W += scale · (α/r) · up·down (diffusion/loaders/lora).
struct LoraRef {
  std::string weights;  // a .safetensors path (resolved against the config's folder) or a hub file reference
  double scale = 1.0;
};

struct Candidate {
  std::string name;
  std::string family;  // a model family of the runtime (sd15, sd21, sdxl, ...)
  std::optional<std::string>
      weights;  // diffusers folder or single-file checkpoint, resolved against the config's folder
  std::optional<std::string>
      config;                      // a single file's pipeline configs: a shipped config's name, a repo id or a folder
  std::optional<std::string> vae;  // optional decoder override (e.g. a TAESD folder)
  std::optional<int> steps;
  std::optional<std::string> scheduler;  // a sampler name as written: "euler", "DPM++ 2M Karras"
  std::optional<double> guidance;
  std::optional<int> width, height;
  std::vector<LoraRef> lora;  // merged in this order
  double cost = 0;
  bool cost_estimate = false;  // cost.estimate: not yet measured
  std::string description;
};

struct CandidateSet {
  std::string source;     // file it came from (for messages)
  std::string cost_unit;  // seconds | tflops
  std::string description;
  std::vector<Candidate> candidates;

  std::size_t size() const { return candidates.size(); }
  int index(const std::string& name) const;  // -1 if absent
  std::vector<std::string> names() const;
  std::vector<double> costs() const;
};

extern const std::vector<std::string> kCostUnits;

// The valid "family" values (empty: any non-empty string) and the check of a "scheduler"
// value, which takes many spellings ("DPM++ 2M Karras"): "" when it is accepted, else why not
// (null: any non-empty string).
struct CandidateRules {
  std::vector<std::string> families;
  std::function<std::string(const std::string& scheduler)> scheduler_problem;
};

CandidateSet parse_candidates(const json& j, const std::string& origin, const std::string& base_dir,
                              const CandidateRules& rules = {});
CandidateSet load_candidates(const std::string& path, const CandidateRules& rules = {});
// `path` if given, else the shipped configs/default.json (found by find_resource).
CandidateSet load_candidates_or_default(const std::string& path, const CandidateRules& rules = {});
json candidates_to_json(const CandidateSet& set);

// Reorders/validates that `names` (e.g. from a quality table or predictor) are exactly the
// config's candidates (allow_extra: at least them); returns for each config candidate its
// index in `names`.
std::vector<int> match_candidates(const CandidateSet& set, const std::vector<std::string>& names,
                                  const std::string& other_origin, bool allow_extra = false);

}  // namespace catimage
