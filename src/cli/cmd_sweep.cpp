// catimage sweep: every prompt with every selected candidate (optionally a step ladder of
// each), for building quality tables; catimage table: joins a sweep with its scores.
#include <algorithm>
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
  std::string dir, scores, output, config_out;
  std::vector<std::string> metrics;
  bool allow_missing = false;
};

// The score files a table is built from: --scores, each --metric's SWEEP/scores-METRIC.jsonl, or
// every scores-METRIC.jsonl in the folder.
std::vector<std::string> table_score_files(const TableOptions& o) {
  if (!o.scores.empty()) return {o.scores};
  std::vector<std::string> files;
  for (const auto& m : o.metrics) files.push_back(folder_score_file(o.dir, m));
  if (!files.empty()) return files;
  if (fs::is_directory(o.dir))
    for (const auto& e : fs::directory_iterator(o.dir)) {
      const auto n = e.path().filename().string();
      if (n.rfind("scores-", 0) == 0 && n.size() > 13 && n.substr(n.size() - 6) == ".jsonl")
        files.push_back(e.path().string());
    }
  std::sort(files.begin(), files.end());
  if (files.empty()) fail("{}: no score file (scores-METRIC.jsonl) here; run `catimage score {}` first", o.dir, o.dir);
  return files;
}

int run_table(TableOptions& o) {
  const std::vector<std::string> score_files = table_score_files(o);
  if (!o.output.empty() && score_files.size() > 1)
    fail(
        "{}: {} score files; -o/--output names one table: pick one with --metric or --scores (or leave -o out: a "
        "table-METRIC.jsonl each)",
        o.dir, score_files.size());
  const UnstartedShards un = unstarted_shards(o.dir);
  if (!un.shards.empty() && !o.allow_missing) {
    for (const auto& s : un.shards) spdlog::error("{}: {}", o.dir, s);
    spdlog::error(
        "{}: {} of {} shards never started: run the sweep with --shard {} (the same options, into this folder) and "
        "score it, or pass --allow-missing to build the table of the shards that ran",
        o.dir, un.shards.size(), un.count, un.shards.front().substr(6, un.shards.front().find(' ', 6) - 6));
    return 1;  // as `catimage merge` refuses an incomplete job
  }
  std::vector<SweepTable> tables;  // every table is checked before any is written
  for (const auto& f : score_files) tables.push_back(join_sweep(o.dir, f, o.allow_missing));
  if (!un.shards.empty())
    spdlog::warn("{}: {} of {} shards never started (--allow-missing): {}; the table has only the others' prompts",
                 o.dir, un.shards.size(), un.count, fmt::join(un.shards, "; "));
  if (o.config_out.empty()) o.config_out = (fs::path(o.dir) / "candidates-measured.json").string();
  for (const SweepTable& t : tables) {
    const std::string out = o.output.empty() ? (fs::path(o.dir) / ("table-" + t.metric + ".jsonl")).string() : o.output;
    write_quality_table(out, t.table);
    if (t.dropped)
      spdlog::warn("{}: dropped {} incomplete prompts (--allow-missing); {} missing cells", out, t.dropped,
                   t.missing.size());
    std::cout << fmt::format("{}: {} prompts x {} candidates ({})\n", out, t.table.rows.size(),
                             t.table.candidates.size(), t.metric);
  }
  // The measured costs come from the sweep's manifests: the same for every metric's table.
  write_file_atomic(o.config_out, candidates_to_json(tables.front().measured).dump(2) + "\n");
  std::cout << fmt::format("measured costs in {}\n", o.config_out);
  for (const auto& c : tables.front().measured.candidates)
    std::cout << fmt::format("  {:<24} {:.4f} s/image\n", c.name, c.cost);
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
  auto* c =
      app.add_subcommand("table", "Join a sweep with its scores into a quality table per metric, with measured costs");
  c->add_option("sweep", o->dir, "The sweep's output folder")->required();
  auto* s = c->add_option("--scores", o->scores, "Score file (default: every scores-METRIC.jsonl of the folder)");
  c->add_option("--metric", o->metrics,
                "Metrics, comma-separated: a table from each one's SWEEP/scores-METRIC.jsonl (default: every score "
                "file of the folder)")
      ->delimiter(',')
      ->allow_extra_args(false)
      ->excludes(s);
  c->add_option("-o,--output", o->output,
                "Quality table of a single metric (default: SWEEP/table-METRIC.jsonl, one per metric)");
  c->add_option("--config-out", o->config_out,
                "Candidates config with the measured mean costs (default: SWEEP/candidates-measured.json)");
  c->add_flag("--allow-missing", o->allow_missing, "Drop prompts missing an image or a score instead of failing");
  return [o] { return run_table(*o); };
}

}  // namespace catimage::cli
