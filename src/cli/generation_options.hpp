#pragma once
#include <CLI/CLI.hpp>

#include "catimage/batch/generation_job.hpp"

namespace catimage::cli {

// Registers the options shared by `generate` and `route --generate` (output folder, seed,
// batch, negative prompt, overrides, device/dtype, shard).
void add_generation_options(CLI::App* c, GenerationJobOptions& o);

}  // namespace catimage::cli
