#include "catimage/diffusion/schedulers/sigma_schedules.hpp"

namespace catimage {

const std::vector<ScheduleEntry>& schedule_registry() {
  static const std::vector<ScheduleEntry> registry = {
      {"normal",
       "Uniform",
       {"Normal"},
       "linspace",
       false,
       false,
       "evenly spaced timesteps (timestep_spacing \"linspace\"; ComfyUI's normal, A1111's Uniform and Normal)"},
      {"karras", "Karras", {}, "", true, false, "Karras et al.'s sigmas (use_karras_sigmas)"},
      {"exponential",
       "Exponential",
       {},
       "linspace",
       false,
       true,
       "sigmas evenly spaced in log sigma (use_exponential_sigmas, timestep_spacing \"linspace\")"},
      {"sgm_uniform",
       "SGM Uniform",
       {"SGMUniform", "simple"},
       "trailing",
       false,
       false,
       "evenly spaced timesteps ending at the last training one (timestep_spacing \"trailing\"; diffusers maps "
       "ComfyUI's simple here too)"},
  };
  return registry;
}

const ScheduleEntry* find_schedule(const std::string& name) {
  for (const auto& s : schedule_registry())
    if (s.name == name) return &s;
  return nullptr;
}

json schedule_config(const ScheduleEntry& s) {
  json j = {{"use_karras_sigmas", s.karras}, {"use_exponential_sigmas", s.exponential}};
  if (!s.timestep_spacing.empty()) j["timestep_spacing"] = s.timestep_spacing;
  return j;
}

std::string schedule_label_for(const std::string& timestep_spacing, bool karras, bool exponential) {
  for (const auto& s : schedule_registry())
    if (s.karras == karras && s.exponential == exponential &&
        (s.timestep_spacing.empty() || s.timestep_spacing == timestep_spacing))
      return s.label;
  return "";
}

}  // namespace catimage
