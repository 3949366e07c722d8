#pragma once
// The schedulers catimage knows, in one table: the name candidates and --scheduler use, the
// diffusers class (scheduler_config.json "_class_name"), the sampler name A1111 gives it
// (written as a PNG's "Sampler:") and the other names users write for it (ComfyUI's
// sampler_name, A1111's k_ aliases), the sigma schedules it takes (sigma_schedules), a
// description for --help, and how to build it (null: known, e.g. in CEMS tables, but not
// implemented by this runtime). sampler_names parses what users write against this table.
// Adding a scheduler: its class in src/diffusion/schedulers/NAME.{hpp,cpp} (a Scheduler with
// kClassName and a constructor from the ConfigView), one line in registry.cpp, one in CMakeLists.txt.
// Torch-free: Scheduler and ConfigView are only declared here.
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace catimage {

class ConfigView;
class Scheduler;

struct SchedulerEntry {
  std::string name;                    // catimage's name: "euler_ancestral"
  std::string class_name;              // diffusers' class: "EulerAncestralDiscreteScheduler"
  std::string label;                   // A1111's sampler name: "Euler a"
  std::vector<std::string> aliases;    // other names users write: "k_euler_a" (ComfyUI's is `name`)
  std::vector<std::string> schedules;  // the sigma_schedules names it takes: "normal", "sgm_uniform"
  std::string description;             // for --help
  // Builds it from a scheduler_config.json (keys of other classes are ignored, as diffusers'
  // from_config does); null when this runtime cannot run it.
  std::function<std::unique_ptr<Scheduler>(const ConfigView& scheduler_config)> make;
};

const std::vector<SchedulerEntry>& scheduler_registry();
// By catimage name or diffusers class name (the first row of that class); nullptr if unknown.
const SchedulerEntry* find_scheduler(const std::string& name);
// The catimage names in registry order, for --help and errors; runnable_only: those with a factory.
std::string scheduler_names(const std::string& sep = ", ", bool runnable_only = false);

// Builds the scheduler a sampler name asks for (any form sampler_names accepts: "euler",
// "EulerDiscreteScheduler", "DPM++ 2M Karras", "dpmpp_2m karras") from a model folder's
// scheduler_config.json; a schedule in the name sets its values over the file's (errors then
// name the file "with schedule karras"). An unknown or unimplemented name is an error naming
// the file and listing the accepted names; unsupported values are errors naming the file and key.
std::unique_ptr<Scheduler> make_scheduler(const std::string& name, const ConfigView& scheduler_config);

}  // namespace catimage
