#include "catimage/batch/route_job.hpp"

#include <spdlog/spdlog.h>

#include "catimage/diffusion/generation_plan.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/strings.hpp"

namespace catimage {

std::vector<ExcludedCandidate> exclude_what_cannot_generate(const CandidateSet& cs, RoutingRequest& request,
                                                            const GenerationJobOptions& job) {
  validate_generation_options(job);
  if (const int k = cs.index(request.candidate); k >= 0) {
    check_generatable(cs, cs.candidates[k], job);
    return {};
  }
  // Route only among the candidates that can generate here; say once which cannot.
  std::vector<ExcludedCandidate> excluded;
  std::vector<std::string> cannot;
  for (const auto& c : cs.candidates)
    if (const GenerationPlan p = plan(c, job, cs.source); p.verdict == GenerationPlan::Verdict::cannot_run_here) {
      excluded.push_back({c.name, p.why});
      cannot.push_back(fmt::format("{} ({})", c.name, p.why));
      request.exclude.push_back(c.name);
    }
  if (cannot.size() == cs.size()) fail("{}: no candidate can generate here: {}", cs.source, join(cannot, "; "));
  if (!cannot.empty())
    spdlog::warn("routing without {} candidate(s) that cannot generate here: {}", cannot.size(), join(cannot, "; "));
  return excluded;
}

RouteJobResult run_route_job(const CandidateSet& cs, const PromptFile& pf, RouteJobOptions o,
                             const std::function<void(const RouteJobResult&)>& publish,
                             const PipelineFactory& pipelines) {
  RouteJobResult res;
  if (o.generate) res.excluded = exclude_what_cannot_generate(cs, o.request, o.job);
  std::vector<PromptRef> refs;
  refs.reserve(pf.prompts.size());
  for (const auto& p : pf.prompts) refs.push_back({p.id, p.prompt, where(pf.source, p.line)});
  res.predicted =
      pf.prompts.empty() ? Matrix(0, cs.size()) : predict_qualities(o.source, refs, cs.names(), cs.source);
  res.routed = RoutingPolicy(cs.names(), cs.costs(), cs.cost_unit, cs.source).route(res.predicted, o.request);
  std::vector<GenerationItem> items;
  if (o.generate) {  // every check before anything is published
    items = generation_items(pf, res.routed.routing.choice, o.job.seed);
    check_generation(cs, items, o.job);
  }
  publish(res);
  if (o.generate) res.written = run_generation(cs, items, o.job, pipelines);
  return res;
}

}  // namespace catimage
