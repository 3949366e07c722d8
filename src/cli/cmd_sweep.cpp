// catimage sweep: every prompt with every selected candidate (optionally a step ladder of
// each), for building quality tables; catimage table: joins a sweep with its scores.
#include <filesystem>
#include <iostream>

#include "catimage/batch/generation_job.hpp"
#include "catimage/batch/score_job.hpp"
#include "catimage/batch/sweep.hpp"
#include "catimage/io/atomic_file.hpp"
#include "catimage/io/model_ref.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/generation_options.hpp"

namespace fs = std::filesystem;

namespace catimage::cli {

namespace {

struct SweepOptions {
  std::string config;
  std::vector<std::string> candidates;
  std::vector<int> steps;
  GenerationJobOptions job;
  PromptInput input;
};

int run_sweep(SweepOptions& o) {
  run_sweep_job(sweep_candidates(load_config(o.config), o.candidates, o.steps), read_prompt_input(o.input), o.job);
  return 0;
}

struct TableOptions {
  std::string dir, scores, metric, output, config_out;
  bool allow_missing = false;
};

int run_table(TableOptions& o) {
  if (o.scores.empty()) {
    if (o.metric.empty()) {
      std::vector<std::string> found;
      if (fs::is_directory(o.dir))
        for (const auto& e : fs::directory_iterator(o.dir)) {
          const auto n = e.path().filename().string();
          if (n.rfind("scores-", 0) == 0 && n.size() > 13 && n.substr(n.size() - 6) == ".jsonl") found.push_back(n);
        }
      if (found.size() != 1)
        fail("{}: {} score files (scores-METRIC.jsonl) here; pick one with --metric or --scores", o.dir, found.size());
      o.scores = (fs::path(o.dir) / found[0]).string();
    } else {
      o.scores = folder_score_file(o.dir, o.metric);
    }
  }
  const UnstartedShards un = unstarted_shards(o.dir);
  if (!un.shards.empty() && !o.allow_missing) {
    for (const auto& s : un.shards) spdlog::error("{}: {}", o.dir, s);
    spdlog::error(
        "{}: {} of {} shards never started: run the sweep with --shard {} (the same options, into this folder) and "
        "score it, or pass --allow-missing to build the table of the shards that ran",
        o.dir, un.shards.size(), un.count, un.shards.front().substr(6, un.shards.front().find(' ', 6) - 6));
    return 1;  // as `catimage merge` refuses an incomplete job
  }
  const SweepTable t = join_sweep(o.dir, o.scores, o.allow_missing);
  if (!un.shards.empty())
    spdlog::warn("{}: {} of {} shards never started (--allow-missing): {}; the table has only the others' prompts",
                 o.dir, un.shards.size(), un.count, fmt::join(un.shards, "; "));
  if (o.output.empty()) o.output = (fs::path(o.dir) / ("table-" + t.metric + ".jsonl")).string();
  if (o.config_out.empty()) o.config_out = (fs::path(o.dir) / "candidates-measured.json").string();
  write_quality_table(o.output, t.table);
  write_file_atomic(o.config_out, candidates_to_json(t.measured).dump(2) + "\n");
  if (t.dropped)
    spdlog::warn("dropped {} incomplete prompts (--allow-missing); {} missing cells", t.dropped, t.missing.size());
  std::cout << fmt::format("{}: {} prompts x {} candidates ({}); measured costs in {}\n", o.output, t.table.rows.size(),
                           t.table.candidates.size(), t.metric, o.config_out);
  for (const auto& c : t.measured.candidates) std::cout << fmt::format("  {:<24} {:.4f} s/image\n", c.name, c.cost);
  return 0;
}

}  // namespace

Runner add_sweep(CLI::App& app) {
  auto o = std::make_shared<SweepOptions>();
  auto* c = app.add_subcommand(
      "sweep", "Generate every prompt with every candidate (same seed per prompt), for building a quality table");
  add_prompt_input(c, o->input);
  c->add_option("-c,--config", o->config, "Candidates config (default: the shipped configs/default.json)");
  c->add_option("--candidates", o->candidates, "Candidates to sweep (default: all), comma-separated")
      ->delimiter(',')
      ->allow_extra_args(false);
  add_generation_options(c, o->job);
  // --steps is a ladder here, not the single override generate takes.
  c->remove_option(c->get_option("--steps"));
  c->add_option("--steps", o->steps,
                "Step ladder, e.g. 1,2,4,8,16: each candidate becomes NAME@S at S steps (the paper's same model at "
                "several step counts)")
      ->delimiter(',')
      ->allow_extra_args(false);
  return [o] { return run_sweep(*o); };
}

Runner add_table(CLI::App& app) {
  auto o = std::make_shared<TableOptions>();
  auto* c = app.add_subcommand("table", "Join a sweep with its scores into a quality table with measured costs");
  c->add_option("sweep", o->dir, "The sweep's output folder")->required();
  auto* s = c->add_option("--scores", o->scores, "Score file (default: the folder's scores-METRIC.jsonl)");
  c->add_option("--metric", o->metric, "Use the folder's scores-METRIC.jsonl")->excludes(s);
  c->add_option("-o,--output", o->output, "Quality table (default: SWEEP/table-METRIC.jsonl)");
  c->add_option("--config-out", o->config_out,
                "Candidates config with the measured mean costs (default: SWEEP/candidates-measured.json)");
  c->add_flag("--allow-missing", o->allow_missing, "Drop prompts missing an image or a score instead of failing");
  return [o] { return run_table(*o); };
}

}  // namespace catimage::cli
