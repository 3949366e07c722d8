// catimage score: score generated images against their prompts (CLIPScore, PickScore).
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
  std::string input;
  ScoreJobOptions job;
};

int run(ScoreOptions o) {
  parse_score_metric(o.job.metric);  // an unknown metric fails before any file is read
  o.job.scorer = resolve_model_ref(o.job.scorer);  // a local folder or a repo id in the hub cache
  const auto items = read_score_items(o.input);
  if (std::filesystem::is_directory(o.input)) {  // scoring what is there is fine; say what is not
    const UnstartedShards un = unstarted_shards(o.input);
    for (const auto& s : un.shards)
      spdlog::warn("{}: {}: its images are not scored (run it, then score again; the scores made now are kept)",
                   o.input, s);
  }
  if (o.job.output.empty()) o.job.output = default_score_file(o.input, o.job.metric);
  const ScoreJobReport r = run_score_job(items, o.job);
  std::cout << fmt::format(
      "{}: {} images, {} scored now ({:.2f} images/s), {} kept from an earlier run; {} prompts cut to the "
      "scorer's 77 tokens\n",
      o.job.output, r.total, r.scored, r.seconds > 0 ? r.scored / r.seconds : 0.0, r.reused, r.truncated);
  return 0;
}

}  // namespace

Runner add_score(CLI::App& app) {
  auto o = std::make_shared<ScoreOptions>();
  auto* c = app.add_subcommand("score", "Score generated images against their prompts (CLIPScore, PickScore)");
  c->add_option("input", o->input,
                "An output folder of generate / route --generate (its manifests), or a .jsonl list of "
                "{\"image\": PATH, \"prompt\": TEXT}")
      ->required();
  c->add_option("--scorer", o->job.scorer,
                "CLIPModel folder in transformers format (config.json, model.safetensors, preprocessor_config.json, "
                "vocab.json, merges.txt), or a Hugging Face repo id in the local hub cache, e.g. "
                "openai/clip-vit-large-patch14 or yuvalkirstain/PickScore_v1")
      ->required();
  c->add_option("--metric", o->job.metric,
                "clipscore: 100 * max(cos, 0) (torchmetrics' CLIPScore); pickscore: exp(logit_scale) * cos")
      ->required();
  c->add_option("-o,--output", o->job.output,
                "Score file (JSONL; default DIR/scores-METRIC.jsonl, or LIST.scores-METRIC.jsonl); resumed if present");
  c->add_option("--batch", o->job.batch, "Images per forward pass (default 16)")->check(CLI::Range(1, 4096));
  c->add_option("--device", o->job.device, "auto, cpu, cuda or cuda:N");
  return [o] { return run(*o); };
}

}  // namespace catimage::cli
