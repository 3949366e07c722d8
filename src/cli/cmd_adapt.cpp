// catimage adapt: learn a user's own prompts (a calibration sweep merged with the base table).
#include <filesystem>
#include <iostream>

#include "catimage/batch/adapt_job.hpp"
#include "catimage/io/model_ref.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/generation_options.hpp"

namespace catimage::cli {

namespace {

struct AdaptOptions {
  PromptInput input;
  std::string config;
  AdaptJobOptions job;
};

std::string figure(const json& j) { return j.is_number() ? fmt::format("{:+.4f}", j.get<double>()) : "—"; }

int run(AdaptOptions& o) {
  if (o.input.path.empty() && o.job.table.empty())
    fail("adapt needs your prompt file (PROMPTS), or --table with your own quality table");
  if (!o.input.path.empty() && !o.job.table.empty())
    fail("adapt takes a prompt file to sweep, or --table (already scored), not both");
  const CandidateSet cs = load_config(o.config);
  if (!o.job.scorer.empty()) o.job.scorer = resolve_model_ref(o.job.scorer);
  o.job.out = o.job.job.out_dir;
  o.job.seed = o.job.job.seed;
  std::unique_ptr<PromptFile> pf;
  if (!o.input.path.empty()) pf = std::make_unique<PromptFile>(read_prompt_input(o.input));
  const AdaptJobResult r = run_adapt_job(cs, pf.get(), o.job);
  if (!r.finished) {
    std::cout << r.message << "\n";
    return 0;
  }
  const json& g = r.report["gain_over_best_single"];
  const json& w = r.report["weights"];
  std::cout << fmt::format(
      "adapted to {} labelled prompts of yours ({}):\n"
      "  gain over the best single candidate at its cost, by {}-fold CV on your rows:\n"
      "    prompt-only router  before {}  after {}  (your rows weigh {:g})\n"
      "    cascade from {:<8} before {}  after {}  (your rows weigh {:g})\n"
      "  guard margin {:g}\n"
      "  route with: --predictor {}  |  --generate --cascade --cascade-predictor {}\n",
      r.report["user_rows"].get<std::size_t>(), r.report["user_table"].get<std::string>(),
      w["prompt_only"]["folds"].get<int>(), figure(g["prompt_only"]["before"]), figure(g["prompt_only"]["after"]),
      w["prompt_only"]["chosen"].get<double>(), r.report["first"].get<std::string>(), figure(g["cascade"]["before"]),
      figure(g["cascade"]["after"]), w["cascade"]["chosen"].get<double>(), r.report["guard"]["margin"].get<double>(),
      r.report["predictors"]["prompt_only"].get<std::string>(), r.report["predictors"]["cascade"].get<std::string>());
  spdlog::info("report: {}", (std::filesystem::path(o.job.out) / "adapt.json").string());
  return 0;
}

}  // namespace

Runner add_adapt(CLI::App& app) {
  auto o = std::make_shared<AdaptOptions>();
  auto* c = app.add_subcommand(
      "adapt",
      "Learn your own prompts: sweep a stratified sample of them over every candidate, score it, merge it with the "
      "base table (your rows' weight chosen by CV), retrain the prompt-only and cascade predictors");
  add_prompt_input(c, o->input);
  c->get_option("prompts")->required(false);
  c->add_option("-c,--config", o->config, "Candidates config (default: the shipped configs/default.json)");
  c->add_option("--sample", o->job.sample, "Prompts to sample (default 200)")->check(at_least(1));
  c->add_option("--table", o->job.table,
                "Your own quality table (already swept and scored): no sample, sweep or scoring");
  c->add_option("--base", o->job.base,
                "Base table to merge with (default: the shipped one of --metric, models/tables/); none: your rows "
                "alone");
  c->add_option("--base-scale", o->job.base_scale,
                "same (default): the base table's scores are on your scorer's scale; match: map them onto your rows' "
                "mean and spread (another CLIP model)");
  c->add_option("--scorer", o->job.scorer, "CLIPModel folder (or a repo id in the hub cache) that scores the sweep");
  c->add_option("--metric", o->job.metric, "Score metric: clipscore (default) or pickscore");
  c->add_option("--score-batch", o->job.score_batch, "Images per scorer forward pass (default 16)")->check(at_least(1));
  c->add_option("--first", o->job.first, "The cascade's first candidate (default: the cheapest)");
  c->add_option("--clusters", o->job.clusters,
                "Clusters of the sample's stratification and of the guard's calibration (default 10)")
      ->check(CLI::Range(2, 1000));
  c->add_option("--alpha", o->job.alpha, "Ridge alpha of the prompt-only predictor (default 10)")
      ->check(greater_than(0));
  c->add_option("--cascade-alpha", o->job.cascade_alpha, "Ridge alpha of the cascade predictor (default 10)")
      ->check(greater_than(0));
  c->add_option("--weight-grid", o->job.weight_grid,
                "Weights of your rows tried (must hold --default-weight; default 1,3,10,30)")
      ->delimiter(',');
  c->add_option("--default-weight", o->job.default_weight,
                "Weight of your rows kept unless the CV finds one better by more than 2 standard errors (default 3)")
      ->check(CLI::PositiveNumber);
  c->add_option("--weight-folds", o->job.weight_folds, "Folds of the weight's cross-validation (default 5)")
      ->check(CLI::Range(2, 100));
  c->add_flag("--dry-run", o->job.dry_run, "Print the sample's size and the sweep's cost, and stop");
  add_generation_options(c, o->job.job);
  c->get_option("--out")->required()->description("Output folder (sample, sweep, merged tables, predictors)");
  return [o] { return run(*o); };
}

}  // namespace catimage::cli
