#include "catimage/batch/route_job.hpp"

#include <spdlog/spdlog.h>

#include "catimage/diffusion/generation_plan.hpp"
#include "catimage/router/metric_routing.hpp"
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

namespace {

// Several metrics: every source predicts, route_metrics routes; the outcome is reported as a
// plain routing's (no guard).
void route_on_metrics(const CandidateSet& cs, const std::vector<PromptRef>& refs, const RouteJobOptions& o,
                      RouteJobResult& res) {
  if (!o.request.candidate.empty()) fail("--candidate sends every prompt to one candidate: it takes no --floor");
  if (o.request.objective == Objective::savings)
    fail("routing on several metrics: --objective savings is not available; give --budget or --lambda");
  MetricRoutingInput in;
  std::vector<PredictorSource> sources{o.source};
  sources.insert(sources.end(), o.more_sources.begin(), o.more_sources.end());
  for (std::size_t k = 0; k < sources.size(); ++k) {
    const auto meta = source_meta(sources[k]);
    const std::string name = sources[k].predictor.empty() ? "the shipped predictor" : sources[k].predictor;
    if (!meta) fail("routing on several metrics takes predictor folders, not a predictions file");
    if (!meta->scale)
      fail("{}: records no metric_scale (trained before routing on several metrics): train it again", name);
    for (const auto& m : in.metrics)
      if (m == meta->metric) fail("{}: a second predictor of metric {}", name, m);
    in.metrics.push_back(meta->metric);
    in.scales.push_back(*meta->scale);
    in.reference.push_back(source_reference_quality(sources[k], cs.names()));
    in.predicted.push_back(k == 0         ? res.predicted
                           : refs.empty() ? Matrix(0, cs.size())
                                          : predict_qualities(sources[k], refs, cs.names(), cs.source));
  }
  in.costs = cs.costs();
  const RoutingPolicy policy(cs.names(), cs.costs(), cs.cost_unit, cs.source);
  in.allowed = policy.allowed(o.request.max_cost, o.request.exclude);
  MetricRoutingRequest rq;
  std::string objective = o.objective;
  if (objective.empty()) objective = equal_weights_objective(in.metrics);
  rq.objective = parse_metric_objective(objective, in.metrics);
  rq.floors = parse_metric_floors(o.floors, in.metrics);
  rq.budget = o.request.budget;
  rq.lambda = o.request.lambda;
  RoutingOutcome& out = res.routed;
  if (refs.empty()) {
    out.best_single = 0;
    out.mean_predicted.assign(cs.size(), 0.0);
  } else {
    const MetricRouting mr = route_metrics(in, rq);
    out.routing = mr.routing;
    out.mode = mr.mode;
    out.best_single = mr.best_single;
    res.floor_values = mr.floor_values;
    // the summary's quality: the objective's predicted value per candidate
    std::vector<const Matrix*> qs;
    for (const auto& q : in.predicted) qs.push_back(&q);
    out.mean_predicted = column_means(combine_metrics(rq.objective, in.metrics, qs, in.scales));
  }
  out.allowed = in.allowed;
  out.guard.margin.assign(refs.size(), 0.0);
  out.guard.fallback.assign(refs.size(), 0);
  res.metrics = in.metrics;
  res.metric_predicted = std::move(in.predicted);
}

}  // namespace

RouteJobResult run_route_job(const CandidateSet& cs, const PromptFile& pf, RouteJobOptions o,
                             const std::function<void(const RouteJobResult&)>& publish,
                             const PipelineFactory& pipelines) {
  RouteJobResult res;
  if (o.generate) res.excluded = exclude_what_cannot_generate(cs, o.request, o.job);
  std::vector<PromptRef> refs;
  refs.reserve(pf.prompts.size());
  for (const auto& p : pf.prompts) refs.push_back({p.id, p.prompt, where(pf.source, p.line)});
  res.predicted = pf.prompts.empty() ? Matrix(0, cs.size()) : predict_qualities(o.source, refs, cs.names(), cs.source);
  if (o.several())
    route_on_metrics(cs, refs, o, res);
  else
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
