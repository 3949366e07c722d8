#include "catimage/batch/sweep.hpp"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <map>
#include <set>

#include "batch/job_plan.hpp"
#include "batch/manifest.hpp"
#include "catimage/batch/score_job.hpp"
#include "catimage/io/atomic_file.hpp"
#include "catimage/io/model_ref.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"

namespace fs = std::filesystem;

namespace catimage {

CandidateSet sweep_candidates(const CandidateSet& cs, const std::vector<std::string>& selected,
                              const std::vector<int>& steps) {
  CandidateSet out;
  out.source = cs.source;
  out.cost_unit = cs.cost_unit;
  std::vector<const Candidate*> base;
  if (selected.empty()) {
    for (const auto& c : cs.candidates) base.push_back(&c);
  } else {
    std::set<std::string> seen;
    for (const auto& name : selected) {
      const int k = cs.index(name);
      if (k < 0)
        fail("--candidates: \"{}\" is not in {} (candidates: {})", name, cs.source, fmt::join(cs.names(), ", "));
      if (!seen.insert(name).second) fail("--candidates: \"{}\" is listed twice", name);
      base.push_back(&cs.candidates[k]);
    }
  }
  for (int s : steps)
    if (s < 1) fail("--steps: step counts must be positive (got {})", s);
  if (std::set<int>(steps.begin(), steps.end()).size() != steps.size()) fail("--steps: a step count is listed twice");
  for (const Candidate* c : base) {
    if (steps.empty()) {
      out.candidates.push_back(*c);
      continue;
    }
    for (int s : steps) {
      Candidate e = *c;
      e.name = fmt::format("{}@{}", c->name, s);
      e.steps = s;
      e.cost = c->cost * s / std::max(1, c->steps.value_or(s));
      e.description = fmt::format("{} at {} steps (cost: an estimate until `catimage table` measures it)", c->name, s);
      out.candidates.push_back(std::move(e));
    }
  }
  out.description = fmt::format("sweep of {}{}", cs.source,
                                steps.empty() ? std::string() : fmt::format(", steps {}", fmt::join(steps, ",")));
  return out;
}

std::vector<GenerationItem> sweep_items(const PromptFile& pf, const CandidateSet& cs, std::uint64_t base_seed) {
  std::vector<GenerationItem> items;
  for (const auto& one : generation_items(pf, std::vector<int>(pf.prompts.size(), 0), base_seed))
    for (std::size_t k = 0; k < cs.size(); ++k) {
      GenerationItem it = one;
      it.candidate = static_cast<int>(k);
      items.push_back(std::move(it));
    }
  return items;
}

std::string sweep_config_path(const std::string& dir) { return (fs::path(dir) / "candidates.json").string(); }

void run_sweep_job(CandidateSet cs, const PromptFile& pf, GenerationJobOptions job) {
  // The sweep's config lives in the output folder: no relative paths (a Hugging Face reference
  // stays one, and a single file's "config" stays a shipped set's name unless it is a folder).
  auto absolute = [](std::string& ref) { ref = fs::absolute(ref).lexically_normal().string(); };
  for (auto& c : cs.candidates) {
    for (auto* ref : {&c.weights, &c.vae})
      if (*ref && !is_hub_ref(**ref)) absolute(**ref);
    for (auto& l : c.lora)
      if (!is_hub_ref(l.weights)) absolute(l.weights);
    if (std::error_code ec; c.config && fs::exists(*c.config, ec)) absolute(*c.config);
  }
  job.per_candidate_folders = true;
  validate_generation_options(job);
  for (const auto& c : cs.candidates) check_generatable(cs, c, job);
  create_output_folder(job.out_dir);
  const std::string cfg = sweep_config_path(job.out_dir);
  if (fs::is_regular_file(cfg)) {
    const CandidateSet before = load_candidates(cfg);
    if (before.names() != cs.names())
      fail("{}: this folder holds a sweep of other candidates ({}); sweep into another --out", cfg,
           fmt::join(before.names(), ", "));
  } else {
    write_file_atomic(cfg, candidates_to_json(cs).dump(2) + "\n");
  }
  spdlog::info("sweep: {} prompts x {} candidates ({}) into {}", pf.prompts.size(), cs.size(),
               fmt::join(cs.names(), ", "), job.out_dir);
  run_generation(cs, sweep_items(pf, cs, job.seed), job);
}

UnstartedShards unstarted_shards(const std::string& dir) {
  UnstartedShards out;
  const std::vector<JobPlan> plans = read_job_plans(dir);
  if (plans.empty()) return out;
  out.count = plans.front().shard.count;
  std::set<int> seen;
  for (const auto& p : plans) seen.insert(p.shard.index);
  for (int k = 0; k < out.count; ++k)
    if (!seen.count(k))
      out.shards.push_back(
          fmt::format("shard {}/{} never started (no {})", k, out.count, JobPlan::file_name(Shard{k, out.count})));
  return out;
}

SweepTable join_sweep(const std::string& dir, const std::string& score_file, bool allow_missing) {
  const std::string cfg_path = sweep_config_path(dir);
  if (!fs::is_regular_file(cfg_path)) fail("{}: no candidates.json: not a `catimage sweep` folder", dir);
  SweepTable out;
  const CandidateSet cs = load_candidates(cfg_path);
  if (!fs::is_regular_file(score_file)) fail("{}: no such score file (run `catimage score {}` first)", score_file, dir);
  const auto scores = read_record_log(score_file);

  struct Prompt {
    std::size_t index = 0;
    std::string prompt;
    std::vector<std::optional<double>> quality, cost;
  };
  std::map<std::string, Prompt> prompts;  // by id
  std::vector<double> cost_sum(cs.size(), 0.0);
  std::vector<std::size_t> cost_n(cs.size(), 0);
  std::set<std::string> devices;
  for (const ScoreItem& it : read_score_items(dir)) {
    const json& m = it.origin;
    const std::string id = m.value("id", ""), cand = m.value("candidate", "");
    const int k = cs.index(cand);
    if (k < 0) fail("{}: candidate \"{}\" is not one of the sweep's ({})", it.where, cand, cfg_path);
    Prompt& p = prompts[id];
    if (p.quality.empty()) {
      p.index = m.value("index", std::size_t{0});
      p.prompt = it.prompt;
      p.quality.resize(cs.size());
      p.cost.resize(cs.size());
    } else if (p.prompt != it.prompt) {
      fail(
          "{}: prompt id \"{}\" has another prompt than in an earlier record; the prompt file changed during the "
          "sweep: sweep again into the same folder to regenerate",
          it.where, id);
    }
    if (m.contains("seconds") && m["seconds"].is_number()) {
      p.cost[k] = m["seconds"].get<double>();
      cost_sum[k] += *p.cost[k];
      ++cost_n[k];
    }
    if (m.contains("device") && m["device"].is_string()) devices.insert(m["device"].get<std::string>());
    auto s = scores.find(it.file);
    if (s == scores.end()) continue;
    const json& r = s->second;
    if (r.value("key", "") != m.value("key", "") || r.value("prompt", "") != it.prompt) continue;  // stale
    if (!r.contains("score") || !r["score"].is_number()) continue;
    const std::string metric = r.value("metric", "");
    if (out.metric.empty()) out.metric = metric;
    if (metric != out.metric)
      fail("{}: scores of two metrics ({}, {}) in one file; give one metric's file", score_file, out.metric, metric);
    p.quality[k] = r["score"].get<double>();
  }
  if (prompts.empty()) fail("{}: the sweep has no images yet", dir);
  for (const auto& plan : read_job_plans(dir))  // planned prompts with no image recorded at all
    for (const auto& item : plan.items) {
      Prompt& p = prompts[item.id];
      if (p.quality.empty()) {
        p.index = std::numeric_limits<std::size_t>::max();
        p.quality.resize(cs.size());
        p.cost.resize(cs.size());
      }
    }

  std::vector<std::pair<std::string, const Prompt*>> order;
  for (const auto& [id, p] : prompts) order.emplace_back(id, &p);
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return a.second->index != b.second->index ? a.second->index < b.second->index : a.first < b.first;
  });
  out.table.source = score_file;
  out.table.candidates = cs.names();
  for (const auto& [id, p] : order) {
    bool complete = true;
    for (std::size_t k = 0; k < cs.size(); ++k)
      if (!p->quality[k] || !p->cost[k]) {
        complete = false;
        out.missing.push_back(fmt::format(
            "id \"{}\": candidate {}: {}", id, cs.candidates[k].name,
            !p->cost[k] ? "no image in the sweep's manifests" : "no score for its current image in " + score_file));
      }
    if (!complete) {
      ++out.dropped;
      continue;
    }
    QualityRecord rec;
    rec.id = id;
    rec.prompt = p->prompt;
    for (std::size_t k = 0; k < cs.size(); ++k) {
      rec.quality.push_back(*p->quality[k]);
      rec.cost.push_back(*p->cost[k]);
    }
    out.table.rows.push_back(std::move(rec));
  }
  if (!out.missing.empty() && !allow_missing) {
    std::string list;
    for (std::size_t i = 0; i < out.missing.size() && i < 20; ++i) list += "\n  " + out.missing[i];
    if (out.missing.size() > 20) list += fmt::format("\n  ... and {} more", out.missing.size() - 20);
    fail(
        "{}: {} missing cells in {} prompts (finish the sweep and score it, or pass --allow-missing to drop those "
        "prompts):{}",
        dir, out.missing.size(), out.dropped, list);
  }
  if (out.table.rows.empty()) fail("{}: no prompt has every candidate's image and score", dir);

  out.measured = cs;
  out.measured.cost_unit = "seconds";
  for (std::size_t k = 0; k < cs.size(); ++k) {
    if (cost_n[k] == 0) fail("{}: candidate {} has no measured seconds", dir, cs.candidates[k].name);
    auto& c = out.measured.candidates[k];
    c.cost = cost_sum[k] / cost_n[k];
    c.description = fmt::format("measured: mean {:.4g} s per image over {} images on {}", c.cost, cost_n[k],
                                fmt::join(devices, ", "));
  }
  out.measured.description = fmt::format("{}; costs measured by `catimage table` from {}", cs.description, dir);
  return out;
}

}  // namespace catimage
