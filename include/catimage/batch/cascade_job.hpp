#pragma once
// `route --generate --cascade`: cascade routing run for real (router/cascade.hpp), in phases
// that a cluster can run as chained jobs (`--cascade-phase`), or all in one process (the
// default, `all`):
//   first  (shardable) every prompt of the shard with FIRST -> OUT/FIRST/ID.png, scored against
//          its prompt -> OUT/scores-METRIC.jsonl (scores-METRIC-KofN.jsonl for shard K/N);
//   plan   (one job)   every first score read back (from every shard's files, each checked
//          against the image its manifest records); the cascade predictor turns (prompt,
//          observed score) into each candidate's expected difference, the priced options are
//          routed with the batch's exact budget (lambda, budget or objective) -> OUT/cascade-plan.jsonl;
//          with --learn the prompts are planned in blocks, each block once the previous
//          block's escalations are scored, with the predictor refitted on what they showed
//          (router/cascade_learning.hpp); when every prompt is planned and every escalation
//          generated (and scored where needed), the plan job finishes the folder: the kept
//          image of every prompt linked as OUT/ID.png (the name a plain `route --generate`
//          gives it), OUT/cascade.jsonl (per prompt: observed scores, decision, kept file, the
//          other one) and OUT/cascade-run.jsonl (the run table: every scored image's id,
//          candidate, score, seed and image hash);
//   second (shardable) the shard's planned escalations generated -> OUT/CAND/ID.png, and scored
//          with --keep-best or --learn.
// `all` runs first, then plan and second in turn until the plan job finishes; its folder is the
// one the phases make, image for image and byte for byte (the scorer scores images one at a
// time on the CPU, so a score does not depend on which images shared its batch).
// Every phase resumes: generation and scoring skip what their logs prove done (same keys, same
// bytes), every decision is recomputed from the same scores (a learning plan reuses the blocks
// whose inputs are unchanged), and the plan, links and records are rewritten atomically.
#include <optional>
#include <string>
#include <vector>

#include "catimage/batch/generation_job.hpp"
#include "catimage/batch/score_job.hpp"
#include "catimage/io/candidates_config.hpp"
#include "catimage/io/json_file.hpp"
#include "catimage/io/prompt_reader.hpp"
#include "catimage/router/cascade_learning.hpp"
#include "catimage/router/routing_policy.hpp"

namespace catimage {

enum class CascadePhase { all, first, plan, second };
// "all" | "first" | "plan" | "second"; fails naming --cascade-phase otherwise.
CascadePhase parse_cascade_phase(const std::string& text);

struct CascadeJobOptions {
  std::string predictor;  // cascade predictor folder (train --cascade FIRST)
  std::string scorer;     // transformers CLIPModel folder
  std::string metric = "clipscore";
  // More metrics (README, "Several metrics"): more cascade predictors (the same FIRST and
  // candidates; each names its metric) and the scorers of their metrics (score_job.hpp's
  // targets, outputs empty). Each first image is scored on every metric, each metric's
  // difference predicted, and the options routed on `objective` under `floors`
  // (router/metric_routing.hpp). Not with --learn or --keep-best.
  std::vector<std::string> more_predictors;
  std::vector<ScoreTarget> more_scorers;
  std::string objective;            // "" with several metrics: every metric standardised, weight 1
  std::vector<std::string> floors;  // as --floor takes them
  std::string score_device = "auto";
  int score_batch = 16;
  double score_cost = 0;  // per scored image, in the candidates' cost unit
  bool keep_best = false;
  CascadePhase phase = CascadePhase::all;
  // --learn: refit the cascade predictor as escalations are scored (every escalation is then
  // scored, and its scoring paid).
  bool learn = false;
  LearningOptions learning;
  std::string learn_base;  // the base table of the refits; "": the cascade predictor's own training table
};

struct CascadeJobResult {
  std::vector<json> records;  // one per prompt, in file order (also in OUT/cascade.jsonl); empty until finished
  std::string first;
  double lambda = 0, mean_cost = 0, mean_predicted = 0;
  std::size_t escalated = 0;
  bool finished = false;
  std::string pending;  // what the folder still needs (a phase to run), when not finished
  std::size_t blocks = 1, planned_blocks = 0;
  double budget = 0;  // the batch's budget per prompt (0 with --lambda)
};

// Checks everything that can be checked before any work (predictor, its candidates against
// the config, its metric against the scorer's, FIRST generatable, a lambda or a budget but not
// a forced candidate, the phase against --shard); then runs the phase.
CascadeJobResult run_cascade_job(const CandidateSet& cs, const PromptFile& pf, const RoutingRequest& request,
                                 GenerationJobOptions job, const CascadeJobOptions& o);

}  // namespace catimage
