#include "catimage/diffusion/schedulers/registry.hpp"

#include "../registry_names.hpp"
#include "catimage/util/error.hpp"
#include "ddim.hpp"
#include "dpmpp_2m.hpp"
#include "euler.hpp"
#include "euler_ancestral.hpp"
#include "lcm.hpp"

namespace catimage {

namespace {

template <class S>
SchedulerEntry entry(const char* name, const char* description) {
  return {name, S::kClassName, description,
          [](const ConfigView& c) -> std::unique_ptr<Scheduler> { return std::make_unique<S>(c); }};
}

}  // namespace

const std::vector<SchedulerEntry>& scheduler_registry() {
  static const std::vector<SchedulerEntry> registry = {
      entry<DDIMScheduler>("ddim", "DDIM, deterministic (eta 0)"),
      entry<EulerDiscreteScheduler>("euler", "Euler; Karras sigmas where the config asks for them"),
      entry<EulerAncestralDiscreteScheduler>("euler_ancestral", "Euler ancestral (\"Euler a\"), adds noise each step"),
      entry<DPMSolverMultistepScheduler>("dpmpp_2m", "DPM-Solver++ 2M; Karras sigmas where the config asks for them"),
      entry<LCMScheduler>("lcm", "latent consistency sampler, for LCM-distilled models (few steps)"),
      // Works on token ids, not a noise schedule: the amused family's pipeline runs its own
      // AmusedScheduler (src/diffusion/schedulers/amused.hpp); no UNet pipeline can use it.
      {"amused", "AmusedScheduler", "aMUSEd's masked-token sampler (the amused family's own, not for UNet pipelines)",
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
  const auto* e = find_scheduler(name);
  if (!e || !e->make)
    fail("{}: scheduler \"{}\" is not implemented by this runtime; choose one of {}", c.origin(), name,
         scheduler_names(", ", true));
  return e->make(c);
}

}  // namespace catimage
