// catimage score: score generated images (CLIPScore, PickScore against their prompts; NIMA alone),
// several metrics in one pass.
#include <filesystem>
#include <iostream>

#include "catimage/batch/score_job.hpp"
#include "catimage/batch/sweep.hpp"
#include "catimage/io/model_ref.hpp"
#include "catimage/scoring/metrics.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"
#include "catimage/util/strings.hpp"
#include "cli/commands.hpp"

namespace catimage::cli {

namespace {

struct ScoreOptions {
  std::string input, output;
  std::vector<std::string> metrics, scorers;
  ScoreJobOptions job;
};

int run(ScoreOptions o) {
  // unknown metrics and scorers that do not pair fail before any file is read
  o.job.targets = pair_metric_scorers(o.metrics, o.scorers);
  if (!o.output.empty() && o.job.targets.size() > 1)
    fail(
        "-o/--output names one score file; with several metrics ({}) each goes to its own default file "
        "(DIR/scores-METRIC.jsonl, LIST.scores-METRIC.jsonl)",
        join(o.metrics, ", "));
  for (auto& t : o.job.targets) {
    t.scorer = resolve_model_ref(t.scorer);  // a local folder or a repo id in the hub cache
    t.output = o.output.empty() ? default_score_file(o.input, t.metric) : o.output;
  }
  const auto items = read_score_items(o.input);
  if (std::filesystem::is_directory(o.input)) {  // scoring what is there is fine; say what is not
    const UnstartedShards un = unstarted_shards(o.input);
    for (const auto& s : un.shards)
      spdlog::warn("{}: {}: its images are not scored (run it, then score again; the scores made now are kept)",
                   o.input, s);
  }
  const ScoreJobReport r = run_score_job(items, o.job);
  for (const auto& t : r.targets) {
    std::cout << fmt::format("{}: {} images, {} scored now ({:.2f} images/s), {} kept from an earlier run", t.output,
                             r.total, t.scored, t.seconds > 0 ? t.scored / t.seconds : 0.0, t.reused);
    if (score_metric_info(parse_score_metric(t.metric)).uses_prompt)
      std::cout << fmt::format("; {} prompts cut to the scorer's 77 tokens", t.truncated);
    std::cout << "\n";
  }
  if (r.targets.size() > 1)
    std::cout << fmt::format("one pass over {} images for {} metrics: {:.2f} s\n", r.total, r.targets.size(),
                             r.seconds);
  return 0;
}

std::string metric_help() {
  std::string h = "Metrics, comma-separated, scored in one pass over the images:";
  for (const auto& m : score_metrics()) h += "\n  " + m.name + ": " + m.definition;
  return h;
}

std::string scorer_help() {
  std::string h =
      "The scorer folder of each metric: one --scorer per metric in the order of --metric, or each as METRIC=DIR; "
      "a local folder or a Hugging Face repo id in the local hub cache:";
  for (const auto& m : score_metrics()) h += "\n  " + m.name + ": " + m.folder;
  return h;
}

}  // namespace

Runner add_score(CLI::App& app) {
  auto o = std::make_shared<ScoreOptions>();
  auto* c = app.add_subcommand("score", "Score generated images (CLIPScore, PickScore against their prompts; NIMA)");
  c->add_option("input", o->input,
                "An output folder of generate / route --generate (its manifests), or a .jsonl list of "
                "{\"image\": PATH, \"prompt\": TEXT}")
      ->required();
  c->add_option("--scorer", o->scorers, scorer_help())->required()->allow_extra_args(false);
  c->add_option("--metric", o->metrics, metric_help())->required()->delimiter(',')->allow_extra_args(false);
  c->add_option("-o,--output", o->output,
                "Score file of a single metric (JSONL; default DIR/scores-METRIC.jsonl, or LIST.scores-METRIC.jsonl); "
                "resumed if present");
  c->add_option("--batch", o->job.batch, "Images per forward pass (default 16)")->check(CLI::Range(1, 4096));
  c->add_option("--device", o->job.device, "auto, cpu, cuda or cuda:N");
  return [o] { return run(*o); };
}

}  // namespace catimage::cli
