#pragma once
// The sigma schedules a sampler name may carry (A1111's "Schedule type", ComfyUI's
// "scheduler"), in one table: catimage's name (ComfyUI's), A1111's label (what a PNG's
// parameters write), other spellings, and the scheduler_config.json values it sets over a
// model folder's. The values are diffusers' own mapping (its scheduler overview, "Noise
// schedules and schedule types"): Karras -> use_karras_sigmas=True; sgm_uniform and simple ->
// timestep_spacing="trailing"; exponential -> timestep_spacing="linspace",
// use_exponential_sigmas=True. Its table has no row for ComfyUI's "normal" / A1111's
// "Uniform" (k-diffusion's evenly spaced timesteps); diffusers' "linspace" spacing is that.
// Each row turns the other sigma options off, since diffusers refuses two at once. Which
// scheduler takes which schedule is in the scheduler registry (SchedulerEntry::schedules).
// Adding one: a row here, its values read by the schedulers that take it.
// Torch-free.
#include <string>
#include <vector>

#include "catimage/io/json_file.hpp"

namespace catimage {

struct ScheduleEntry {
  std::string name;                  // catimage's (and ComfyUI's) name: "sgm_uniform"
  std::string label;                 // A1111's label, written as "Schedule type: SGM Uniform"
  std::vector<std::string> aliases;  // other spellings users write: "SGMUniform", "simple"
  std::string timestep_spacing;      // the spacing it sets; "" keeps the folder's
  bool karras = false;               // use_karras_sigmas
  bool exponential = false;          // use_exponential_sigmas
  std::string description;           // for --help and the README
};

const std::vector<ScheduleEntry>& schedule_registry();
// By catimage name exactly; nullptr if unknown (sampler_names matches what users write).
const ScheduleEntry* find_schedule(const std::string& name);
// The scheduler_config.json values `s` sets: {"use_karras_sigmas": .., "use_exponential_sigmas": ..[,
// "timestep_spacing": ..]}.
json schedule_config(const ScheduleEntry& s);
// The A1111 label of the first row whose values a scheduler resolved to ("Karras"), for the
// "Schedule type" of a PNG's parameters; "" when no row gives them (e.g. "leading" spacing,
// which A1111 has no schedule type for).
std::string schedule_label_for(const std::string& timestep_spacing, bool karras, bool exponential);

}  // namespace catimage
