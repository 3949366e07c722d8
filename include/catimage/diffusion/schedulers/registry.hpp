#pragma once
// The schedulers catimage knows, in one table: the name candidates and --scheduler use, the
// diffusers class (scheduler_config.json "_class_name"), a description for --help, and how
// to build it (null: known, e.g. in CEMS tables, but not implemented by this runtime).
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
  std::string name;         // catimage's name: "euler_ancestral"
  std::string class_name;   // diffusers' class: "EulerAncestralDiscreteScheduler"
  std::string description;  // for --help
  // Builds it from a scheduler_config.json (keys of other classes are ignored, as diffusers'
  // from_config does); null when this runtime cannot run it.
  std::function<std::unique_ptr<Scheduler>(const ConfigView& scheduler_config)> make;
};

const std::vector<SchedulerEntry>& scheduler_registry();
// By catimage name or diffusers class name; nullptr if unknown.
const SchedulerEntry* find_scheduler(const std::string& name);
// The catimage names in registry order, for --help and errors; runnable_only: those with a factory.
std::string scheduler_names(const std::string& sep = ", ", bool runnable_only = false);

// Builds the scheduler `name` (catimage or class name) from a scheduler_config.json; an
// unknown or unimplemented one is an error listing the implemented names, and unsupported
// values are errors naming the file and key.
std::unique_ptr<Scheduler> make_scheduler(const std::string& name, const ConfigView& scheduler_config);

}  // namespace catimage
