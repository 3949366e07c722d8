// catimage route: choose a generator per prompt.
#include <fstream>
#include <iostream>
#include <map>
#include <memory>

#include "catimage/cli/commands.hpp"
#include "catimage/cli/common.hpp"
#include "catimage/cli/generation_job.hpp"
#include "catimage/io/atomic_file.hpp"
#include "catimage/io/prompt_reader.hpp"
#include "catimage/router/router.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"
#include "catimage/util/strings.hpp"

namespace catimage::cli {

namespace {

struct RouteOptions {
  std::string prompts, config, output;
  PredictorSource source;
  double lambda = -1, budget = -1, max_cost = -1;
  std::string candidate;
  std::size_t max_prompt_bytes = 16384;
  bool strict = false;
  bool generate = false;
  GenerationJobOptions job;
};

std::vector<double> column_means(const Matrix& q) {
  std::vector<double> mean(q.cols, 0.0);
  for (std::size_t i = 0; i < q.rows; ++i)
    for (std::size_t k = 0; k < q.cols; ++k) mean[k] += q(i, k) / q.rows;
  return mean;
}

// The allowed candidate with the best mean predicted quality over the batch (ties: cheaper).
std::size_t best_single(const CandidateSet& cs, const std::vector<double>& mean, const std::vector<char>& allowed) {
  int best = -1;
  for (std::size_t k = 0; k < cs.size(); ++k) {
    if (!allowed.empty() && !allowed[k]) continue;
    if (best < 0 || mean[k] > mean[best] ||
        (mean[k] == mean[best] && cs.candidates[k].cost < cs.candidates[best].cost))
      best = static_cast<int>(k);
  }
  return static_cast<std::size_t>(best);
}

void print_summary(const PromptFile& pf, const CandidateSet& cs, const Matrix& q, const Routing& r,
                   const std::string& mode) {
  const std::size_t n = r.choice.size(), m = cs.size();
  std::vector<std::size_t> count(m, 0);
  for (int c : r.choice) ++count[c];
  std::vector<double> mean = column_means(q);
  std::size_t best = best_single(cs, mean, {});
  spdlog::info("routed {} prompts ({}), {} line(s) skipped", n, mode, pf.skipped.size());
  for (std::size_t k = 0; k < m; ++k)
    spdlog::info("  {:<24} {:>7} prompts ({:5.1f}%)  cost {:.4g} {}", cs.candidates[k].name, count[k],
                 n ? 100.0 * count[k] / n : 0.0, cs.candidates[k].cost, cs.cost_unit);
  if (n) {
    spdlog::info("  expected mean quality {:.4f} at mean cost {:.4g} {}", r.mean_predicted, r.mean_cost, cs.cost_unit);
    spdlog::info("  always {} (best single): quality {:.4f} at cost {:.4g} {} ({:+.4f} quality, {:.1f}% of its cost)",
                 cs.candidates[best].name, mean[best], cs.candidates[best].cost, cs.cost_unit,
                 r.mean_predicted - mean[best],
                 cs.candidates[best].cost > 0 ? 100.0 * r.mean_cost / cs.candidates[best].cost : 0.0);
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

int run(RouteOptions& o) {
  if (!o.generate && !o.job.shard.empty()) fail("--shard splits the generation work: it needs --generate");
  PromptReadOptions ro;
  ro.max_bytes = o.max_prompt_bytes;
  ro.strict = o.strict;
  PromptFile pf = read_prompts(o.prompts, ro);
  report_skipped(pf);

  CandidateSet cs = load_config_or_default(o.config);
  std::vector<PromptRef> refs;
  refs.reserve(pf.prompts.size());
  for (const auto& p : pf.prompts) refs.push_back({p.id, p.prompt, where(pf.source, p.line)});
  Matrix q = pf.prompts.empty() ? Matrix(0, cs.size()) : predict_qualities(o.source, refs, cs.names(), cs.source);

  std::vector<char> allowed;
  if (o.max_cost >= 0) {
    allowed.resize(cs.size());
    bool any = false;
    for (std::size_t k = 0; k < cs.size(); ++k) any |= (allowed[k] = cs.candidates[k].cost <= o.max_cost);
    if (!any) {
      double lo = cs.candidates[0].cost;
      for (const auto& c : cs.candidates) lo = std::min(lo, c.cost);
      fail("--max-cost {} excludes every candidate (the cheapest costs {} {})", o.max_cost, lo, cs.cost_unit);
    }
  }
  Router router(cs.costs(), allowed);
  router.set_predictions(q);
  Routing r;
  std::string mode;
  if (!o.candidate.empty()) {
    int k = cs.index(o.candidate);
    if (k < 0) fail("--candidate \"{}\" is not in {} (candidates: {})", o.candidate, cs.source, join(cs.names(), ", "));
    if (!allowed.empty() && !allowed[k]) fail("--candidate {} costs more than --max-cost {}", o.candidate, o.max_cost);
    r = router.route_forced(k);
    mode = "forced " + o.candidate;
  } else if (o.lambda >= 0) {
    r = router.route_lambda(o.lambda);
    mode = fmt::format("lambda {}", o.lambda);
  } else {
    double budget = o.budget;
    if (budget < 0) {
      // Default: spend what always using the best single candidate would cost.
      std::size_t best = best_single(cs, column_means(q), allowed);
      budget = cs.candidates[best].cost;
      mode = fmt::format("budget {:.4g} = cost of {}", budget, cs.candidates[best].name);
    } else {
      mode = fmt::format("budget {}", budget);
    }
    r = pf.prompts.empty() ? Routing{} : router.route_budget(budget);
    mode += fmt::format(", lambda {:.6g}", r.lambda);
  }

  std::unique_ptr<AtomicFile> file;
  std::ostream* out = &std::cout;
  if (!o.output.empty() && o.output != "-") {
    file = std::make_unique<AtomicFile>(o.output);
    out = &file->stream();
  }
  for (std::size_t i = 0; i < pf.prompts.size(); ++i) {
    const auto& p = pf.prompts[i];
    json pred = json::object();
    for (std::size_t k = 0; k < cs.size(); ++k) pred[cs.candidates[k].name] = q(i, k);
    const auto& c = cs.candidates[r.choice[i]];
    json j = {{"line", p.line}, {"id", p.id}, {"prompt", p.prompt}, {"candidate", c.name},
              {"cost", c.cost}, {"predicted", std::move(pred)}};
    *out << j.dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
  }
  out->flush();
  if (file) file->commit();
  print_summary(pf, cs, q, r, mode);
  if (o.generate) {
    // Every shard routes the whole file (routing is exact and cheap, and a budget is a
    // property of the whole batch), then generates its own share.
    run_generation(cs, generation_items(pf, r.choice), o.job);
  }
  return 0;
}

}  // namespace

Runner add_route(CLI::App& app) {
  auto o = std::make_shared<RouteOptions>();
  auto* c = app.add_subcommand("route", "Choose a generator for every prompt (argmax q̂ − λ·cost)");
  c->add_option("prompts", o->prompts, "Prompt file: .txt (one per line), .jsonl or .csv with a \"prompt\" field; - for stdin")
      ->required();
  c->add_option("-c,--config", o->config, "Candidates config (default: the shipped configs/default.json)");
  auto* pr = c->add_option("--predictor", o->source.predictor, "Trained predictor folder");
  auto* pd = c->add_option("--predictions", o->source.predictions, "JSONL of predicted qualities per prompt (by id or prompt text)");
  pr->excludes(pd);
  auto* l = c->add_option("--lambda", o->lambda, "Cost weight λ >= 0 (0: best predicted quality regardless of cost)")
                ->check(CLI::NonNegativeNumber);
  auto* b = c->add_option("--budget", o->budget, "Average cost per prompt the batch must not exceed (finds the best λ exactly); "
                                                  "default: the cost of the best single candidate")
                ->check(CLI::NonNegativeNumber);
  auto* f = c->add_option("--candidate", o->candidate, "Send every prompt to this candidate");
  l->excludes(b)->excludes(f);
  b->excludes(f);
  c->add_option("--max-cost", o->max_cost, "Never choose a candidate costing more than this per prompt")
      ->check(CLI::NonNegativeNumber);
  c->add_option("-o,--output", o->output, "Output JSONL (default: stdout); written atomically");
  c->add_option("--max-prompt-bytes", o->max_prompt_bytes, "Longer prompts are skipped (and reported)")
      ->check(CLI::PositiveNumber);
  c->add_flag("--strict", o->strict, "Fail on the first unusable prompt line instead of skipping it");
  c->add_flag("--generate", o->generate, "Also generate every prompt's image with its chosen candidate (see generate's options)");
  add_generation_options(c, o->job);
  return [o] { return run(*o); };
}

}  // namespace catimage::cli
