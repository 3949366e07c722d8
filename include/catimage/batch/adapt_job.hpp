#pragma once
// `catimage adapt`: learn a user's own prompts. A small calibration sweep of their prompts is
// merged with the base table the shipped predictors were trained on, and the predictors are
// retrained on both:
//   1. sample: N of the user's prompts, stratified by TF-IDF cluster so every kind of prompt is
//      seen (seeded) -> OUT/sample.jsonl (a rerun checks it is the same sample);
//   2. sweep: every sampled prompt with every candidate -> OUT/sweep (resumable and shardable as
//      `catimage sweep`; --dry-run prints its cost from the candidates' costs and stops);
//   3. score and table: the sweep's images scored -> the user's quality table
//      OUT/sweep/table-METRIC.jsonl (`adapt --table USER_TABLE` starts here instead);
//   4. merge: the base table (--base, default the shipped one of the metric; optionally mapped
//      onto the user's scale) + the user's rows, their weight chosen by cross-validation on the
//      user's rows alone (eval/user_weight.hpp), separately for the prompt-only predictor and the
//      cascade's -> OUT/merged-prompt.jsonl, OUT/merged-cascade.jsonl;
//   5. train: the prompt-only predictor (tfidf-ridge) with its guard margin recalibrated by
//      leave-cluster-out CV on its merged table -> OUT/predictor; the cascade predictor from the
//      cheapest candidate (or --first) -> OUT/cascade-predictor; folders `route` takes as they are;
//   6. report: by cross-validation on the user's rows, the expected gain over the best single
//      candidate before adapting (base rows only) and after -> OUT/adapt.json.
// Every step resumes: the sweep and scores skip what their logs prove done; the rest is
// recomputed (deterministically) and written atomically.
#include <cstdint>
#include <string>
#include <vector>

#include "catimage/batch/generation_job.hpp"
#include "catimage/eval/user_weight.hpp"
#include "catimage/io/candidates_config.hpp"
#include "catimage/io/json_file.hpp"
#include "catimage/io/prompt_reader.hpp"

namespace catimage {

struct AdaptJobOptions {
  std::size_t sample = 200;
  std::string out;                  // output folder
  std::string table;                // the user's own quality table: no sample, sweep or scoring
  std::string base;                 // base table; "" the shipped one of the metric; "none": the user's rows alone
  std::string base_scale = "same";  // same | match (map the base onto the user's mean and spread)
  std::string scorer;               // CLIPModel folder (for the sweep's scores)
  std::string metric = "clipscore";
  std::string score_device = "auto";
  int score_batch = 16;
  std::string first;  // the cascade's first candidate ("": the cheapest)
  int clusters = 10;  // of the sample's stratification and the guard's calibration
  std::uint64_t seed = 0;
  double alpha = 10, cascade_alpha = 10;
  std::vector<double> weight_grid;  // empty: the default
  double default_weight = default_user_weight();  // the weight kept unless the CV moves from it
  int weight_folds = 5;
  bool dry_run = false;
  GenerationJobOptions job;  // the sweep's generation options (out_dir is set to OUT/sweep)
};

struct AdaptJobResult {
  bool finished = false;  // false: a dry run, or this shard's sweep done and the rest to come
  json report;            // OUT/adapt.json
  std::string message;    // what to run next when not finished
};

// `prompts`: the user's prompts (null with o.table); `cs`: the candidates (their costs are what
// routing pays, and the sweep's models).
AdaptJobResult run_adapt_job(const CandidateSet& cs, const PromptFile* prompts, const AdaptJobOptions& o);

}  // namespace catimage
