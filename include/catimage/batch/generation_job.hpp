#pragma once
// The batch generation job behind `generate` and `route --generate`:
// - every candidate is checked (family, weights folder, scheduler, settings) before any work;
// - prompts are grouped per candidate (one pipeline loaded at a time);
// - resume is exact: an image is skipped only when its shard's manifest records it with the
//   key of everything that determines it (see batch/image_key) and its PNG is complete with
//   that key inside; anything else is generated again and replaces the stale file atomically;
// - seeds follow each prompt's id (or its explicit "seed"), not its position in the file;
// - each PNG is written to a temp file, fsync'ed and renamed, then its manifest line appended;
// - CUDA out-of-memory halves the batch and retries; progress lines with rate and ETA;
// - the pipelines come from a PipelineFactory (the real one: each family's libtorch pipeline).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "catimage/batch/pipeline_factory.hpp"
#include "catimage/batch/shard.hpp"
#include "catimage/diffusion/generation_plan.hpp"
#include "catimage/io/candidates_config.hpp"
#include "catimage/io/prompt_reader.hpp"

namespace catimage {

// The job's options: what each candidate's GenerationPlan takes from the command line (the
// settings overrides, device, dtype) and the job's own.
struct GenerationJobOptions : GenerationOverrides {
  std::string out_dir = "images";
  std::uint64_t seed = 0;  // base seed (see image_seed)
  int batch = 1;
  std::string negative_prompt;
  Shard shard;  // this process does prompts whose index i has i % count == index
  // Images go to CANDIDATE/ID.png (a sweep: every prompt with several candidates) instead
  // of ID.png (one image per prompt).
  bool per_candidate_folders = false;
};

struct GenerationItem {
  std::size_t index = 0;  // position among the file's usable prompts (the shard split follows it)
  std::string id, prompt, where;
  std::uint64_t seed = 0;
  int candidate = 0;  // index into the candidate set
};

// A prompt's seed: its explicit "seed" when the file gives one; else the base seed plus its
// id when the id is a decimal integer (a text file's line number), else plus the 64-bit
// FNV-1a hash of the id. Editing other lines of a file changes no other prompt's seed.
std::uint64_t image_seed(const PromptItem& p, std::uint64_t base);

// One item per prompt of `pf`, prompt i going to candidate[i].
std::vector<GenerationItem> generation_items(const PromptFile& pf, const std::vector<int>& candidate,
                                             std::uint64_t base_seed);

// The file (relative to the output folder) of item `it`: ID.png, or CANDIDATE/ID.png with
// per_candidate_folders; both parts made file-name safe (see image_name).
std::string item_file(const GenerationItem& it, const CandidateSet& cs, const GenerationJobOptions& o);

// Checks the job's options (batch, --out, and the overrides: sizes, steps, guidance, device,
// dtype) before any model loads; errors name the option.
void validate_generation_options(const GenerationJobOptions& o);

// Fails before any work with the reason of `c`'s GenerationPlan (naming the config, the
// candidate and the option or file) if it cannot be generated with; else returns the plan.
GenerationPlan check_generatable(const CandidateSet& cs, const Candidate& c, const GenerationJobOptions& o);

// Creates the output folder `dir` (--out) and its parents; errors name it (a file in the way,
// no permission, a place that cannot hold folders such as /proc).
void create_output_folder(const std::string& dir);

// Every check run_generation makes before any work, for callers that write something else
// first (route -o): the job's options, distinct image names, and each candidate the items
// use (check_generatable). Fails naming the option, line or candidate.
void check_generation(const CandidateSet& cs, const std::vector<GenerationItem>& items,
                      const GenerationJobOptions& opt);

// Runs the job (check_generation first) with the pipelines `pipelines` builds; returns the
// number of images written (skipped ones not counted).
std::size_t run_generation(const CandidateSet& cs, const std::vector<GenerationItem>& items,
                           const GenerationJobOptions& opt, const PipelineFactory& pipelines = family_pipelines());

}  // namespace catimage
