#pragma once
// `catimage sweep` and `catimage table`: the paper's data collection. A sweep generates every
// prompt with every selected candidate (the same seed per prompt across candidates, so
// differences come from the candidate, not the noise) into CANDIDATE/ID.png, recording each
// image's measured seconds; a step ladder turns a candidate into NAME@S candidates (the same
// model at S denoising steps). `table` joins a sweep's manifests with a score file into the
// quality table `train`/`eval` read, and writes a candidates config whose costs are the
// measured means.
#include <string>
#include <vector>

#include "catimage/batch/generation_job.hpp"
#include "catimage/io/candidates_config.hpp"
#include "catimage/io/prompt_reader.hpp"
#include "catimage/io/quality_table.hpp"

namespace catimage {

// The candidates of a sweep: `selected` (names; empty: every candidate of `cs`), each expanded
// to NAME@S for every S in `steps` when a ladder is given. Costs of expanded candidates are
// estimates (the candidate's cost scaled by S / its steps) until `table` measures them.
CandidateSet sweep_candidates(const CandidateSet& cs, const std::vector<std::string>& selected,
                              const std::vector<int>& steps);

// Every prompt with every candidate of `cs`; prompt i keeps index i (shards split prompts,
// so one shard does all candidates of its prompts) and one seed for all its images.
std::vector<GenerationItem> sweep_items(const PromptFile& pf, const CandidateSet& cs, std::uint64_t base_seed);

// The sweep's own copy of its candidates: DIR/candidates.json.
std::string sweep_config_path(const std::string& dir);

// Runs (or resumes) the sweep of `pf` over `cs` (already expanded by sweep_candidates) into
// job.out_dir: every candidate's options and folder are checked first; the sweep's candidates
// go to DIR/candidates.json (local paths made absolute, repo ids kept), and a folder holding a
// sweep of other candidates is refused; then this shard's images are generated.
void run_sweep_job(CandidateSet cs, const PromptFile& pf, GenerationJobOptions job);

struct SweepTable {
  QualityTable table;
  CandidateSet measured;             // the sweep's candidates with costs = mean measured seconds per image
  std::vector<std::string> missing;  // "id X: candidate Y: why"
  std::size_t dropped = 0;           // incomplete prompts left out (allow_missing)
  std::string metric;
};

// The shards of the sweep's job (its job-KofN.json files) that never started: "shard 1/2 never
// started (no job-1of2.json)", as `catimage merge` says it; `count` is N (1 when unsharded).
struct UnstartedShards {
  int count = 1;
  std::vector<std::string> shards;
};
UnstartedShards unstarted_shards(const std::string& dir);

// Joins the sweep in `dir` (its candidates.json and manifests) with `score_file` (from
// `catimage score`). Missing or stale cells fail, listing them, unless allow_missing, which
// drops the incomplete prompts and reports them. A started shard's planned image with no
// manifest record is a missing cell.
SweepTable join_sweep(const std::string& dir, const std::string& score_file, bool allow_missing);

}  // namespace catimage
