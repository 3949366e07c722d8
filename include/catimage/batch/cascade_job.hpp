#pragma once
// `route --generate --cascade`: cascade routing run for real (router/cascade.hpp).
//   1. every prompt is generated with FIRST            -> OUT/FIRST/ID.png
//   2. those images are scored against their prompts    -> OUT/scores-METRIC.jsonl
//   3. the cascade predictor turns (prompt, observed score) into each candidate's expected
//      difference; the options are priced and routed (lambda or budget, solved exactly)
//   4. escalated prompts are generated again with their chosen candidate -> OUT/CAND/ID.png
//   5. with keep-best the second images are scored too and the better image is kept
//   6. the kept image of every prompt is linked as OUT/ID.png (the name a plain
//      `route --generate` gives it) and OUT/cascade.jsonl records, per prompt, the observed
//      scores, the decision, the kept file and the other one.
// Every stage resumes: generation and scoring skip what their logs prove done (same keys,
// same bytes), the decision is recomputed from the same scores, and the links and cascade.jsonl
// are rewritten atomically. A killed run loses and duplicates nothing.
#include <optional>
#include <string>
#include <vector>

#include "catimage/batch/generation_job.hpp"
#include "catimage/io/candidates_config.hpp"
#include "catimage/io/json_file.hpp"
#include "catimage/io/prompt_reader.hpp"
#include "catimage/router/routing_policy.hpp"

namespace catimage {

struct CascadeJobOptions {
  std::string predictor;  // cascade predictor folder (train --cascade FIRST)
  std::string scorer;     // transformers CLIPModel folder
  std::string metric = "clipscore";
  std::string score_device = "auto";
  int score_batch = 16;
  double score_cost = 0;  // per scored image, in the candidates' cost unit
  bool keep_best = false;
};

struct CascadeJobResult {
  std::vector<json> records;  // one per prompt, in file order (also in OUT/cascade.jsonl)
  std::string first;
  double lambda = 0, mean_cost = 0, mean_predicted = 0;
  std::size_t escalated = 0;
};

// Checks everything that can be checked before any work (predictor, its candidates against
// the config, its metric against the scorer's, FIRST generatable, no shards, a lambda or a
// budget but not a forced candidate); then runs the stages.
CascadeJobResult run_cascade_job(const CandidateSet& cs, const PromptFile& pf, const RoutingRequest& request,
                                 GenerationJobOptions job, const CascadeJobOptions& o);

}  // namespace catimage
