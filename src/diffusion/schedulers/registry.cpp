#include "catimage/diffusion/schedulers/registry.hpp"

#include "../registry_names.hpp"
#include "catimage/diffusion/schedulers/sampler_names.hpp"
#include "catimage/diffusion/schedulers/sigma_schedules.hpp"
#include "catimage/util/error.hpp"
#include "ddim.hpp"
#include "dpmpp_2m.hpp"
#include "euler.hpp"
#include "euler_ancestral.hpp"
#include "lcm.hpp"

namespace catimage {

namespace {

template <class S>
SchedulerEntry entry(const char* name, const char* label, std::vector<std::string> aliases,
                     std::vector<std::string> schedules, const char* description) {
  return {name,
          S::kClassName,
          label,
          std::move(aliases),
          std::move(schedules),
          description,
          [](const ConfigView& c) -> std::unique_ptr<Scheduler> { return std::make_unique<S>(c); }};
}

// The sigma schedules (sigma_schedules) each kind of diffusers scheduler has options for:
// Euler and DPM-Solver++ have Karras and exponential sigmas; Euler ancestral and DDIM only the
// timestep spacing; LCM picks its own timesteps.
const std::vector<std::string> kSigmaSchedules = {"normal", "karras", "exponential", "sgm_uniform"};
const std::vector<std::string> kSpacings = {"normal", "sgm_uniform"};

}  // namespace

const std::vector<SchedulerEntry>& scheduler_registry() {
  static const std::vector<SchedulerEntry> registry = {
      entry<DDIMScheduler>("ddim", "DDIM", {}, kSpacings, "DDIM, deterministic (eta 0)"),
      entry<EulerDiscreteScheduler>("euler", "Euler", {"k_euler"}, kSigmaSchedules,
                                    "Euler; Karras or exponential sigmas where the config or the name asks for them"),
      entry<EulerAncestralDiscreteScheduler>("euler_ancestral", "Euler a", {"k_euler_a", "k_euler_ancestral"},
                                             kSpacings, "Euler ancestral, adds noise each step"),
      entry<DPMSolverMultistepScheduler>(
          "dpmpp_2m", "DPM++ 2M", {"k_dpmpp_2m"}, kSigmaSchedules,
          "DPM-Solver++ 2M; Karras or exponential sigmas where the config or the name asks for them"),
      // DPM-Solver++'s SDE variant: the same class with algorithm_type "sde-dpmsolver++" over
      // the folder's file (a folder whose file says so runs it under "dpmpp_2m" too, as
      // from_config does; find_scheduler by class name finds "dpmpp_2m").
      {"dpmpp_2m_sde",
       DPMSolverMultistepScheduler::kClassName,
       "DPM++ 2M SDE",
       {"k_dpmpp_2m_sde"},
       kSigmaSchedules,
       "DPM-Solver++ 2M SDE (algorithm_type \"sde-dpmsolver++\"), adds noise each step",
       [](const ConfigView& c) -> std::unique_ptr<Scheduler> {
         json j = c.raw();
         j["algorithm_type"] = "sde-dpmsolver++";
         return std::make_unique<DPMSolverMultistepScheduler>(ConfigView(j, c.origin()));
       }},
      entry<LCMScheduler>("lcm", "LCM", {}, {}, "latent consistency sampler, for LCM-distilled models (few steps)"),
      // Works on token ids, not a noise schedule: the amused family's pipeline runs its own
      // AmusedScheduler (src/diffusion/schedulers/amused.hpp); no UNet pipeline can use it.
      {"amused",
       "AmusedScheduler",
       "aMUSEd",
       {},
       {},
       "aMUSEd's masked-token sampler (the amused family's own, not for UNet pipelines)",
       nullptr},
  };
  return registry;
}

const SchedulerEntry* find_scheduler(const std::string& name) {
  for (const auto& e : scheduler_registry())
    if (e.name == name || e.class_name == name) return &e;
  return nullptr;
}

std::string scheduler_names(const std::string& sep, bool runnable_only) {
  return registry_names(scheduler_registry(), sep, runnable_only);
}

std::unique_ptr<Scheduler> make_scheduler(const std::string& name, const ConfigView& c) {
  SamplerChoice choice;
  try {
    choice = parse_sampler(name);
  } catch (const Error& e) {
    fail("{}: {}", c.origin(), e.what());
  }
  if (!choice.scheduler->make)
    fail("{}: scheduler \"{}\" is not implemented by this runtime; choose one of {}", c.origin(), name,
         sampler_names_help());
  if (!choice.schedule) return choice.scheduler->make(c);
  json j = c.raw();
  j.update(schedule_config(*choice.schedule));
  return choice.scheduler->make(ConfigView(j, c.origin() + " with schedule " + choice.schedule->name));
}

}  // namespace catimage
