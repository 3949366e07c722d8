#pragma once
// The job behind `route` and `route --generate`: every prompt's candidate chosen from its
// predicted qualities (router/routing_policy), and with generation:
// - the candidates that cannot run here (their GenerationPlan says so: a family this runtime
//   does not run, no "weights" folder) are left out of the routing with their reasons, and
//   the prompts go to the others; a forced candidate (request.candidate) must run;
// - every check (the job's options, distinct image names, each chosen candidate's plan)
//   passes before the routes are published (the caller writes them), then this shard's
//   images are generated (batch/generation_job) with the pipelines of a PipelineFactory:
//   out of memory halves the batch and retries.
// Every shard routes the whole file (routing is exact and cheap, and a budget is a property of
// the whole batch), then generates its own share.
#include <functional>
#include <string>
#include <vector>

#include "catimage/batch/generation_job.hpp"
#include "catimage/batch/pipeline_factory.hpp"
#include "catimage/io/candidates_config.hpp"
#include "catimage/io/prompt_reader.hpp"
#include "catimage/predictor/quality_source.hpp"
#include "catimage/router/routing_policy.hpp"
#include "catimage/util/matrix.hpp"

namespace catimage {

struct RouteJobOptions {
  PredictorSource source;  // the predicted qualities
  // The routing as requested, objective, margin and reference qualities resolved; the job adds
  // the candidates that cannot generate here to its exclusions.
  RoutingRequest request;
  bool generate = false;
  GenerationJobOptions job;
  // Routing on several metrics (README, "Several metrics"): the predictors of the other metrics
  // (source's is the first), the objective over them ("" with more sources: every metric
  // standardised, weight 1) and floors. The guard is off: its margin is one metric's.
  std::vector<PredictorSource> more_sources;
  std::string objective;
  std::vector<std::string> floors;
  bool several() const { return !more_sources.empty() || !objective.empty() || !floors.empty(); }
};

struct ExcludedCandidate {
  std::string name;
  std::string why;  // e.g. `no "weights" folder in the config`
};

struct RouteJobResult {
  Matrix predicted;                      // prompts x candidates (with several metrics: the first metric's)
  std::vector<std::string> metrics;      // with several metrics: each predictor's metric
  std::vector<Matrix> metric_predicted;  // and its predictions
  std::vector<double> floor_values;      // the floors as applied
  RoutingOutcome routed;
  std::vector<ExcludedCandidate> excluded;  // with generation: left out, as they cannot run here
  std::size_t written = 0;                  // images generated (already done ones not counted)
};

// For routing that generates: checks the job's options; a forced request.candidate must be
// able to generate (fails with its plan's reason); otherwise adds every candidate that cannot
// run here to request.exclude and returns them with their reasons (logged once as a warning).
// Fails naming the config and every reason when none can.
std::vector<ExcludedCandidate> exclude_what_cannot_generate(const CandidateSet& cs, RoutingRequest& request,
                                                            const GenerationJobOptions& job);

// Routes `pf` over `cs`; with o.generate, makes every check, calls `publish` with the routing
// and then generates the images; without, just calls `publish`. Errors name the option, file,
// line or candidate.
RouteJobResult run_route_job(const CandidateSet& cs, const PromptFile& pf, RouteJobOptions o,
                             const std::function<void(const RouteJobResult&)>& publish,
                             const PipelineFactory& pipelines = family_pipelines());

}  // namespace catimage
