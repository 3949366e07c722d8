#pragma once
// `catimage models`: the pre-flight check a user runs before submitting a cluster job. For every
// candidate of a config, what its model references resolve to here (io/model_ref: a local path,
// else the local hub cache) or why it cannot run (the plan's reason, with the download command),
// and for one that runs: its family, the dtype it would run in, its parameters (counted from the
// safetensors headers of exactly the tensors its pipeline loads: no weights are read), the bytes
// on disk of the files it reads, and the LoRAs it merges.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "catimage/diffusion/generation_plan.hpp"
#include "catimage/io/candidates_config.hpp"
#include "catimage/io/json_file.hpp"

namespace catimage {

struct ModelReport {
  std::string candidate, family;
  bool runs = false;
  std::string why;  // when it cannot run: the error (the config, the candidate, what is missing, the fix)
  // Each reference as written and what it resolved to: ("weights", REF, PATH), ("config", ...),
  // ("vae", ...), ("lora[0]", ...); a single file's chosen configs are listed though not written.
  struct Ref {
    std::string role, written, resolved;
  };
  std::vector<Ref> refs;
  std::string dtype;                                  // the dtype it would run in here (fp32 | fp16 | bf16)
  std::int64_t parameters = 0;                        // the model's (merged LoRAs add none)
  std::uintmax_t bytes = 0;                           // the files it reads: weights, decoder override, LoRAs
  std::vector<std::pair<std::string, double>> loras;  // each LoRA file and its scale, in merge order

  json to_json() const;
};

// One report per candidate of `cs`, in its order; `o`: where it would run (device, dtype).
std::vector<ModelReport> model_reports(const CandidateSet& cs, const GenerationOverrides& o);

}  // namespace catimage
