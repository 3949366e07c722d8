#pragma once
// Generating images for prompts assigned to candidates (by `generate` or `route --generate`):
// every candidate's weights are checked before any work, prompts are grouped per candidate
// (one pipeline loaded at a time), done images recorded in the shard's manifest are skipped
// (resume), each PNG is written atomically and then its manifest line appended, and CUDA
// out-of-memory halves the batch and retries.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "catimage/io/candidates_config.hpp"
#include "catimage/io/prompt_reader.hpp"

namespace catimage::cli {

struct GenerationJobOptions {
  std::string out_dir = "images";
  std::uint64_t seed = 0;           // image seed = seed + the prompt's index in its file
  int batch = 1;
  std::string negative_prompt;
  std::optional<int> steps, width, height;  // override the candidate's settings
  std::optional<double> guidance;
  std::string device = "auto", dtype = "auto";
  bool channels_last = false;
  std::string shard;                // "K/N": this process does prompts with index % N == K
};

struct GenerationItem {
  std::size_t index = 0;  // position in the prompt file (seed and file name follow it)
  std::string id, prompt, where;
  int candidate = 0;      // index into the candidate set
};

// Parses "K/N" (0 <= K < N) for --shard.
void parse_shard(const std::string& text, int& shard, int& shards);

// One item per prompt of `pf`, prompt i going to candidate[i].
std::vector<GenerationItem> generation_items(const PromptFile& pf, const std::vector<int>& candidate);

// Runs the job; returns the number of images written (skipped ones not counted).
std::size_t run_generation(const CandidateSet& cs, const std::vector<GenerationItem>& items,
                           const GenerationJobOptions& opt);

}  // namespace catimage::cli

namespace CLI {
class App;
}

namespace catimage::cli {

// Registers the options shared by `generate` and `route --generate` (output folder, seed,
// batch, negative prompt, overrides, device/dtype, shard).
void add_generation_options(CLI::App* c, GenerationJobOptions& o);

}  // namespace catimage::cli
