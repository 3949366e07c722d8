// catimage route: choose a generator per prompt.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <memory>

#include "catimage/batch/cascade_job.hpp"
#include "catimage/batch/generation_job.hpp"
#include "catimage/batch/route_job.hpp"
#include "catimage/batch/score_job.hpp"
#include "catimage/io/atomic_file.hpp"
#include "catimage/io/model_ref.hpp"
#include "catimage/io/prompt_reader.hpp"
#include "catimage/predictor/cascade_predictor.hpp"
#include "catimage/predictor/quality_source.hpp"
#include "catimage/router/routing_policy.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"
#include "catimage/util/paths.hpp"
#include "catimage/util/progress.hpp"
#include "catimage/util/strings.hpp"
#include "catimage/util/utf8.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/generation_options.hpp"
#include "cli/routing_options.hpp"

namespace catimage::cli {

namespace {

struct RouteOptions {
  std::string config, output;
  PredictorSource source;
  RoutingOptions routing;
  std::string format = "auto";  // auto: a table on a terminal, JSONL otherwise
  PromptInput input;
  bool generate = false;
  GenerationJobOptions job;
  bool cascade = false;
  CascadeJobOptions cascade_job;
  std::vector<std::string> predictors, cascade_predictors, scorers;  // repeatable: several metrics
  std::string metrics = "clipscore";                                 // the cascade's scorer metrics
  std::vector<PredictorSource> more_sources;                         // prompt-only: the other metrics
  std::string cascade_phase = "all";
};

// --cascade: generate FIRST, score, route the priced options, escalate (batch/cascade_job.hpp).
int run_cascade(RouteOptions& o, const PromptFile& pf, const CandidateSet& cs, const RoutingRequest& request) {
  if (!o.cascade_predictors.empty()) {
    o.cascade_job.predictor = o.cascade_predictors[0];
    o.cascade_job.more_predictors.assign(o.cascade_predictors.begin() + 1, o.cascade_predictors.end());
  }
  if (o.cascade_job.predictor.empty()) o.cascade_job.predictor = default_cascade_predictor_dir();
  if (on_metrics(o.routing)) {
    o.cascade_job.objective = o.routing.objective == "quality" ? "" : o.routing.objective;
    o.cascade_job.floors = o.routing.floors;
  }
  o.cascade_job.phase = parse_cascade_phase(o.cascade_phase);
  o.cascade_job.learning.seed = o.job.seed;  // the exploration draws follow --seed
  const CascadeJobResult res = run_cascade_job(cs, pf, request, o.job, o.cascade_job);
  if (!res.finished) {
    spdlog::info("cascade phase {} done; still to run: {}", o.cascade_phase, res.pending);
    return 0;
  }
  std::unique_ptr<AtomicFile> file;
  std::ostream* out = &std::cout;
  if (!o.output.empty() && o.output != "-") {
    file = std::make_unique<AtomicFile>(o.output);
    out = &file->stream();
  }
  for (const auto& rec : res.records) *out << rec.dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
  out->flush();
  if (file) file->commit();
  std::map<std::string, std::size_t> count;
  std::size_t kept_second = 0;
  for (const auto& rec : res.records) {
    ++count[rec["candidate"].get<std::string>()];
    kept_second += rec["kept_file"] != rec["first_file"];
  }
  const std::size_t n = res.records.size();
  spdlog::info("cascade from {}: {} prompts, {} escalated ({:.1f}%), {} kept the second image; {} line(s) skipped",
               res.first, n, res.escalated, n ? 100.0 * res.escalated / n : 0.0, kept_second, pf.skipped.size());
  for (const auto& [name, c] : count) spdlog::info("  {:<24} {:>7} prompts", name, c);
  if (n)
    spdlog::info("  expected mean quality {:.4f} at mean cost {:.4g} {} (first image and scoring included){}",
                 res.mean_predicted, res.mean_cost, cs.cost_unit,
                 res.budget > 0 ? fmt::format("; budget {:.4g} {}", res.budget, cs.cost_unit) : std::string());
  if (o.cascade_job.learn) {
    std::size_t explored = 0;
    for (const auto& rec : res.records) explored += rec.value("explored", false);
    spdlog::info("  learning: {} block(s) of {} prompts, the predictor refitted after each; {} prompt(s) explored",
                 res.blocks, o.cascade_job.learning.every, explored);
  }
  return 0;
}

// The share of `reference` saved at `cost`; a difference in the last bits of a mean prints 0.0,
// not -0.0.
double percent_saved(double cost, double reference) {
  const double p = 100.0 * (reference - cost) / reference;
  return std::abs(p) < 1e-9 ? 0.0 : p;
}

// Both objectives beside the best single, as predicted: the quality gain at its cost and the
// cost saved at its quality, whatever this routing's mode.
void print_objectives(const CandidateSet& cs, const RoutingOutcome& out) {
  const std::size_t best = out.best_single;
  const double q0 = out.mean_predicted[best], c0 = cs.candidates[best].cost;
  const std::string& unit = cs.cost_unit;
  spdlog::info("  always {} (best single by predicted quality): quality {:.4f} at cost {:.4g} {}",
               cs.candidates[best].name, q0, c0, unit);
  if (!out.equal_cost.choice.empty())
    spdlog::info("    at its cost ({:.4g} {}): predicted quality {:+.4f}   (--objective quality)",
                 out.equal_cost.mean_cost, unit, out.equal_cost.mean_predicted - q0);
  if (!out.equal_quality.choice.empty())
    spdlog::info(
        "    at its quality ({:+.4f}): {:.1f}% of its cost saved, {:.4g} {} per prompt   (--objective savings)",
        out.equal_quality.mean_predicted - q0, c0 > 0 ? percent_saved(out.equal_quality.mean_cost, c0) : 0.0,
        out.equal_quality.mean_cost, unit);
}

void print_summary(const PromptFile& pf, const CandidateSet& cs, const RoutingOutcome& out) {
  const Routing& r = out.routing;
  const std::size_t n = r.choice.size(), m = cs.size();
  std::vector<std::size_t> count(m, 0);
  for (int c : r.choice) ++count[c];
  const std::size_t best = out.best_single;
  spdlog::info("routed {} prompts ({}), {} line(s) skipped", n, out.mode, pf.skipped.size());
  for (std::size_t k = 0; k < m; ++k)
    spdlog::info("  {:<24} {:>7} prompts ({:5.1f}%)  cost {:.4g} {}{}", cs.candidates[k].name, count[k],
                 n ? 100.0 * count[k] / n : 0.0, cs.candidates[k].cost, cs.cost_unit,
                 cs.candidates[k].cost_estimate ? " (estimate)" : "");
  if (n) {
    std::size_t held = 0;
    for (char f : out.guard.fallback) held += f != 0;
    spdlog::info("  expected mean quality {:.4f} at mean cost {:.4g} {} ({:+.4f} quality, {:.1f}% of {}'s cost)",
                 r.mean_predicted, r.mean_cost, cs.cost_unit, r.mean_predicted - out.mean_predicted[best],
                 cs.candidates[best].cost > 0 ? 100.0 * r.mean_cost / cs.candidates[best].cost : 0.0,
                 cs.candidates[best].name);
    print_objectives(cs, out);
    if (out.margin > 0)
      spdlog::info("  guard: margin {:.4g} over {}; {} prompt(s) held on it by the guard alone (\"fallback\")",
                   out.margin, cs.candidates[best].name, held);
  }
  if (!pf.skipped.empty()) {
    std::map<std::string, std::size_t> why;
    for (const auto& s : pf.skipped) {
      auto key = s.reason.substr(0, s.reason.find(" at byte"));
      key = key.substr(0, key.find(" is ") == std::string::npos ? key.size() : key.find(" is "));
      ++why[key];
    }
    for (const auto& [k, c] : why) spdlog::warn("  skipped {}: {}", c, k);
  }
}

// The routes as a readable table (a terminal): prompt, candidate, predicted gain over the best
// single, cost.
void print_route_table(std::ostream& out, const PromptFile& pf, const CandidateSet& cs, const Matrix& q,
                       const RoutingOutcome& routed) {
  const std::size_t best = routed.best_single;
  out << fmt::format("{:<48}  {:<16}  {:>9}  {:>9}\n", "prompt", "candidate", "pred. Δ", "cost");
  for (std::size_t i = 0; i < pf.prompts.size(); ++i) {
    const int k = routed.routing.choice[i];
    std::string text = utf8_prefix(pf.prompts[i].prompt, 46);
    if (text.size() < pf.prompts[i].prompt.size()) text += "…";
    out << fmt::format("{:<48}  {:<16}  {:>+9.3f}  {:>9.4g}{}\n", pad_utf8(text, 48), cs.candidates[k].name,
                       q(i, k) - q(i, best), cs.candidates[k].cost, routed.guard.fallback[i] ? "  (guard)" : "");
  }
}

// The routes as JSONL, one line per prompt: its choice, cost and predictions.
void write_routes(std::ostream& out, const PromptFile& pf, const CandidateSet& cs, const RouteJobResult& res) {
  const RoutingOutcome& routed = res.routed;
  for (std::size_t i = 0; i < pf.prompts.size(); ++i) {
    const auto& p = pf.prompts[i];
    json pred = json::object();
    for (std::size_t k = 0; k < cs.size(); ++k) pred[cs.candidates[k].name] = res.predicted(i, k);
    const auto& c = cs.candidates[routed.routing.choice[i]];
    json j = {{"line", p.line},
              {"id", p.id},
              {"prompt", p.prompt},
              {"candidate", c.name},
              {"cost", c.cost},
              {"predicted", std::move(pred)},
              {"margin", routed.guard.margin[i]},
              {"fallback", static_cast<bool>(routed.guard.fallback[i])}};
    if (!res.metrics.empty()) {  // several metrics: each one's predictions
      json metrics = json::object();
      for (std::size_t m = 0; m < res.metrics.size(); ++m) {
        json q = json::object();
        for (std::size_t k = 0; k < cs.size(); ++k) q[cs.candidates[k].name] = res.metric_predicted[m](i, k);
        metrics[res.metrics[m]] = std::move(q);
      }
      j["metrics"] = std::move(metrics);
    }
    out << j.dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
  }
}

// The routes where -o / --format say (shards route the same batch identically; only shard 0
// writes a routes file), then the summary.
void print_routes(const RouteOptions& o, const PromptFile& pf, const CandidateSet& cs, const RouteJobResult& res) {
  std::unique_ptr<AtomicFile> file;
  std::ostream* out = &std::cout;
  const bool write_routes_file = o.job.shard.index == 0;
  if (!o.output.empty() && o.output != "-" && write_routes_file) {
    file = std::make_unique<AtomicFile>(o.output);
    out = &file->stream();
  }
  const bool table = !file && (o.format == "table" || (o.format == "auto" && o.output.empty() && stdout_is_terminal()));
  if (table)
    print_route_table(std::cout, pf, cs, res.predicted, res.routed);
  else if (write_routes_file || o.output.empty() || o.output == "-")
    write_routes(*out, pf, cs, res);
  out->flush();
  if (file) file->commit();
  print_summary(pf, cs, res.routed);
}

int run(RouteOptions& o) {
  if (!o.generate && !o.job.shard.whole()) fail("--shard splits the generation work: it needs --generate");
  if (o.format != "auto" && o.format != "table" && o.format != "jsonl")
    fail("--format must be auto, table or jsonl, got \"{}\"", o.format);
  if (!o.output.empty() && o.output != "-" && o.input.path != "-" && same_file(o.output, o.input.path))
    fail("-o {}: that is the prompt file {}; write the routes to another file", o.output, o.input.path);
  if (o.cascade && !o.generate) fail("--cascade generates and scores the first images: it needs --generate");
  if (o.cascade && (!o.source.predictor.empty() || !o.source.predictions.empty()))
    fail("--cascade routes with a cascade predictor (--cascade-predictor), not --predictor / --predictions");
  if (o.cascade) {  // --metric A[,B...] with --scorer DIR[,DIR...] or METRIC=DIR: the first is the cascade's
    std::vector<ScoreTarget> targets;
    if (!o.scorers.empty()) targets = pair_metric_scorers(split(o.metrics, ','), o.scorers);
    if (!targets.empty()) {
      o.cascade_job.metric = targets[0].metric;
      o.cascade_job.scorer = targets[0].scorer;
      o.cascade_job.more_scorers.assign(targets.begin() + 1, targets.end());
    } else {
      o.cascade_job.metric = o.metrics;
    }
    // local folders or repo ids in the hub cache
    if (!o.cascade_job.scorer.empty()) o.cascade_job.scorer = resolve_model_ref(o.cascade_job.scorer);
    for (auto& t : o.cascade_job.more_scorers) t.scorer = resolve_model_ref(t.scorer);
  }
  if (!o.cascade && (!o.cascade_predictors.empty() || !o.scorers.empty()))
    fail("--cascade-predictor and --scorer are the cascade's (--cascade)");
  if (!o.predictors.empty()) {
    o.source.predictor = o.predictors[0];
    for (std::size_t k = 1; k < o.predictors.size(); ++k) o.more_sources.push_back({o.predictors[k], ""});
  }
  PromptFile pf = read_prompt_input(o.input);
  CandidateSet cs = load_config(o.config);
  if (o.cascade) {
    RoutingRequest request = o.routing.request;
    exclude_what_cannot_generate(cs, request, o.job);
    return run_cascade(o, pf, cs, request);
  }
  RouteJobOptions job{o.source, routing_request(o.routing, o.source, cs.names()), o.generate, o.job};
  job.more_sources = o.more_sources;
  if (on_metrics(o.routing)) {
    job.objective = o.routing.objective == "quality" ? "" : o.routing.objective;
    job.floors = o.routing.floors;
    if (job.more_sources.empty() && o.source.predictions.empty()) {
      // an objective or floor on metrics the one predictor lacks: the shipped predictor of each
      const auto meta = source_meta(o.source);
      std::vector<std::string> named =
          job.objective == "mixed" ? shipped_predictor_metrics() : std::vector<std::string>{};
      for (const auto& item : split(job.objective, ','))
        if (job.objective != "mixed" && !item.empty()) named.push_back(trim(item.substr(0, item.find(':'))));
      for (const auto& f : job.floors) named.push_back(trim(f.substr(0, f.find('='))));
      std::sort(named.begin(), named.end());
      named.erase(std::unique(named.begin(), named.end()), named.end());
      for (const auto& name : named)
        if (!meta || name != meta->metric) job.more_sources.push_back({shipped_predictor_dir(name), ""});
    }
  }
  run_route_job(cs, pf, job, [&](const RouteJobResult& res) { print_routes(o, pf, cs, res); });
  return 0;
}

}  // namespace

Runner add_route(CLI::App& app) {
  auto o = std::make_shared<RouteOptions>();
  auto* c = app.add_subcommand("route", "Choose a generator for every prompt (argmax q̂ − λ·cost)");
  add_prompt_input(c, o->input);
  c->add_option("-c,--config", o->config, "Candidates config (default: the shipped configs/default.json)");
  auto* pr = c->add_option("--predictor", o->predictors,
                           "Trained predictor folder; repeat it (or write A,B) to route on several metrics, one "
                           "predictor per metric (see --objective, --floor)")
                 ->delimiter(',');
  auto* pd = c->add_option("--predictions", o->source.predictions,
                           "JSONL of predicted qualities per prompt (by id or prompt text)");
  pr->excludes(pd);
  add_routing_options(c, o->routing);
  c->add_option("-o,--output", o->output,
                "Output JSONL (default: stdout); written atomically (with --shard: by shard 0)");
  c->add_option("--format", o->format,
                "Routes on stdout: auto (default: a readable table on a terminal, JSONL otherwise), table or jsonl");
  c->add_flag("--generate", o->generate,
              "Also generate every prompt's image with its chosen candidate (see generate's options)");
  add_generation_options(c, o->job);
  auto* cf = c->add_flag("--cascade", o->cascade,
                         "Cascade routing (with --generate): generate every prompt with the cascade predictor's first "
                         "candidate, score that image, then keep it or pay for another candidate; writes "
                         "OUT/cascade.jsonl");
  c->add_option("--cascade-predictor", o->cascade_predictors,
                "Cascade predictor folder (`train --cascade FIRST`; default: the shipped models/cascade-clip); repeat "
                "it (or write A,B) to observe and route on several metrics, one per metric (e.g. models/cascade-clip "
                "and models/cascade-nima; see --objective, --floor)")
      ->delimiter(',')
      ->needs(cf);
  c->add_option("--scorer", o->scorers,
                "Scorer folder (or a repo id in the hub cache) of the cascade's metric: a CLIPModel, a NIMA folder; "
                "several metrics: one per --metric in its order, or METRIC=DIR each")
      ->delimiter(',')
      ->needs(cf);
  c->add_option("--metric", o->metrics,
                "Score metric(s) of the cascade, the first predictor's first (clipscore, pickscore, nima; default "
                "clipscore; several: clipscore,nima)")
      ->needs(cf);
  c->add_option("--score-cost", o->cascade_job.score_cost,
                "Cost of scoring one image in the config's cost unit (default 0), paid for every first image")
      ->check(at_least(0))
      ->needs(cf);
  c->add_flag("--keep-best", o->cascade_job.keep_best,
              "Also score the second image and keep the better of the two (it selects on the metric it is judged by)")
      ->needs(cf);
  c->add_option("--score-batch", o->cascade_job.score_batch, "Images per scorer forward pass (default 16)")
      ->check(at_least(1))
      ->needs(cf);
  c->add_option("--cascade-phase", o->cascade_phase,
                "all (default), or one phase for a cluster's chained jobs: first (sharded: generate and score the "
                "first images), plan (one job: route with the batch's budget; finishes the folder when all is done), "
                "second (sharded: generate the planned escalations)")
      ->needs(cf);
  auto* learn = c->add_flag("--learn", o->cascade_job.learn,
                            "Refit the cascade predictor as escalations are scored: plan in blocks of --learn-every "
                            "prompts, each with the predictor refitted on the base table plus what the run observed, "
                            "re-solving the budget so the batch still meets it exactly (every escalation is scored)")
                    ->needs(cf);
  c->add_option("--learn-every", o->cascade_job.learning.every,
                "With --learn: prompts per block, the predictor refitted after each (default 100)")
      ->check(at_least(1))
      ->needs(learn);
  c->add_option("--explore", o->cascade_job.learning.explore,
                "With --learn: share of prompts (drawn by id and --seed) escalated to a uniformly drawn candidate, "
                "their propensity logged and the refits inverse-propensity weighted (default 0)")
      ->check(CLI::Range(0.0, 0.999))
      ->needs(learn);
  c->add_option("--learn-weight", o->cascade_job.learning.run_weight,
                "With --learn: weight of an observed difference against a base row (times 1/propensity; default 1)")
      ->check(greater_than(0))
      ->needs(learn);
  c->add_option("--ipw-cap", o->cascade_job.learning.max_ipw, "With --learn: cap on 1/propensity (default: none)")
      ->check(at_least(1))
      ->needs(learn);
  c->add_option("--learn-base", o->cascade_job.learn_base,
                "With --learn: the base table of the refits (default: the table the cascade predictor was trained on)")
      ->needs(learn);
  return [o] { return run(*o); };
}

}  // namespace catimage::cli
