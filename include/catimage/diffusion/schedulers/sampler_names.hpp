#pragma once
// Sampler names as users write them, wherever a scheduler is named (a candidate's
// "scheduler", generate --scheduler): a sampler of the scheduler registry by its catimage
// name (ComfyUI's sampler_name: "euler_ancestral"), diffusers' class, A1111's name ("Euler a")
// or an alias ("k_euler_a"), optionally followed by a sigma schedule (sigma_schedules) by its
// name, A1111 label or alias: A1111's legacy names ("DPM++ 2M Karras"), ComfyUI's
// sampler_name/scheduler pairs ("dpmpp_2m karras", "euler sgm_uniform"), A1111 1.9's separate
// Schedule type ("DPM++ 2M, Karras", or as its infotext writes it: "Sampler: DPM++ 2M,
// Schedule type: Karras"). Case, spaces, '_', '-' and ',' are ignored, so "dpm++ 2m karras"
// and "Euler_A" are accepted too.
//
// A name without a schedule runs the scheduler with the model folder's scheduler_config.json
// as it is (diffusers' from_config: Karras if the file says so); a schedule sets its row's
// values over the file's. A1111 itself ignores the folder's file and takes the schedule from
// the sampler (its "Automatic"), which differs across its versions (1.9 made DPM++ 2M Karras by
// default): catimage follows the file, and its PNG parameters say which schedule ran.
// Torch-free.
#include <string>

namespace catimage {

struct SchedulerEntry;
struct ScheduleEntry;

struct SamplerChoice {
  const SchedulerEntry* scheduler = nullptr;  // never null after parse_sampler; its make may be null
  const ScheduleEntry* schedule = nullptr;    // null: the model folder's own schedule
  // "dpmpp_2m karras": catimage's names, the form a GenerationPlan holds and an image key hashes,
  // so every spelling of one sampler and schedule keys its images alike.
  std::string canonical() const;
};

// What `text` names. Fails (exit 2) naming the text and listing the accepted names when no
// sampler (with or without a schedule) is called that, and naming the schedules the sampler
// takes when it does not take the one named ("Euler a Karras": diffusers' Euler ancestral has
// no Karras sigmas). A known sampler this runtime does not run ("amused") parses.
SamplerChoice parse_sampler(const std::string& text);

// The accepted names for --help and errors, from the registries: "Euler (euler), Euler a
// (euler_ancestral), ... or a diffusers class name; optionally followed by a schedule type:
// Uniform (normal), Karras (karras), ...".
std::string sampler_names_help();

}  // namespace catimage
