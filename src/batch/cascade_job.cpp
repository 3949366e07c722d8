#include "catimage/batch/cascade_job.hpp"

#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <system_error>

#include <unistd.h>

#include "batch/job_lock.hpp"
#include "batch/manifest.hpp"
#include "catimage/batch/score_job.hpp"
#include "catimage/io/atomic_file.hpp"
#include "catimage/predictor/cascade_predictor.hpp"
#include "catimage/router/cascade.hpp"
#include "catimage/router/router.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"
#include "catimage/util/strings.hpp"

namespace fs = std::filesystem;

namespace catimage {

namespace {

// The scorer metric a cascade predictor's observed scores were measured with.
std::string scorer_metric_of(const std::string& predictor_metric) {
  if (predictor_metric == "clip" || predictor_metric == "clipscore") return "clipscore";
  if (predictor_metric == "pickscore") return "pickscore";
  return "";
}

// Links `target` (relative to dir) as dir/name, replacing what is there, atomically; copies
// where the file system has no hard links.
void place_kept(const fs::path& dir, const std::string& target, const std::string& name) {
  const fs::path dst = dir / name, tmp = dir / (name + ".link.tmp");
  std::error_code ec;
  fs::remove(tmp, ec);
  if (fs::exists(dst, ec) && fs::equivalent(dst, dir / target, ec)) return;  // already that file
  fs::create_hard_link(dir / target, tmp, ec);
  if (ec) {
    write_file_atomic(dst.string(), read_file((dir / target).string()));
    return;
  }
  fs::rename(tmp, dst, ec);
  if (ec) fail("{}: cannot replace it with {}: {}", dst.string(), target, ec.message());
  fs::remove(tmp, ec);  // rename() leaves both names when they already were links to one file
}

std::map<std::string, double> scores_by_file(const std::string& score_file, const std::string& metric) {
  std::map<std::string, double> out;
  for (const auto& [file, rec] : read_record_log(score_file))
    if (rec.value("metric", "") == metric && rec.contains("score") && rec["score"].is_number())
      out[file] = rec["score"].get<double>();
  return out;
}

}  // namespace

CascadeJobResult run_cascade_job(const CandidateSet& cs, const PromptFile& pf, const RoutingRequest& request,
                                 GenerationJobOptions job, const CascadeJobOptions& o) {
  // ---- checks before any work
  if (!job.shard.whole())
    fail(
        "--cascade routes the whole batch on every first image's score (a budget is a property of the batch): run "
        "it without --shard");
  if (!request.candidate.empty()) fail("--cascade chooses per prompt: it takes no --candidate");
  if (o.scorer.empty())
    fail("--cascade needs --scorer DIR (a transformers CLIPModel folder) to score the first images");
  const auto cp = load_cascade_predictor(o.predictor);
  const std::string mpath = (fs::path(o.predictor) / "predictor.json").string();
  {
    std::set<std::string> a(cp->meta().candidates.begin(), cp->meta().candidates.end());
    const auto names = cs.names();
    std::set<std::string> b(names.begin(), names.end());
    if (a != b)
      fail("{}: its candidates ({}) are not those of {} ({})", mpath, join(cp->meta().candidates, ", "), cs.source,
           join(names, ", "));
  }
  const std::string want = scorer_metric_of(cp->meta().metric);
  if (want.empty())
    fail(
        "{}: trained on metric \"{}\", which catimage cannot score images with (clipscore, pickscore): a cascade "
        "needs the first image scored on the predictor's own scale",
        mpath, cp->meta().metric);
  if (want != o.metric)
    fail("{}: trained on \"{}\" scores, but --metric is {}: the observed scores must be on the predictor's scale",
         mpath, cp->meta().metric, o.metric);
  const int first = cs.index(cp->meta().first);
  const std::size_t n = pf.prompts.size(), m = cs.size();
  std::vector<char> allowed =
      RoutingPolicy(cs.names(), cs.costs(), cs.cost_unit, cs.source).allowed(request.max_cost, request.exclude);
  if (!allowed.empty() && !allowed[first])
    fail("--cascade: the first candidate {} is excluded (--max-cost / --exclude / cannot generate here)",
         cp->meta().first);
  validate_generation_options(job);
  check_generatable(cs, cs.candidates[first], job);
  job.per_candidate_folders = true;
  const fs::path out(job.out_dir);
  const std::string score_file = folder_score_file(job.out_dir, o.metric);
  CascadeJobResult res;
  res.first = cp->meta().first;
  if (n == 0) return res;

  // The cascade's own files beside the generation's: its decisions and the kept ID.png links.
  // It holds the folder's job lock for its life; when no other job was live in the folder (of
  // any layout: only a job writes these names), the temp files a killed run left of them go.
  create_output_folder(job.out_dir);
  const JobLock lock(job.out_dir, job.shard);
  std::vector<GenerationItem> items = generation_items(pf, std::vector<int>(n, first), job.seed);
  if (lock.alone()) {
    std::set<std::string> own = {"cascade.jsonl"};
    for (const auto& it : items) own.insert(fs::path(item_file(it, cs, job)).filename().string());
    remove_stale_temps(job.out_dir, own);
  }

  // ---- 1. FIRST for every prompt
  spdlog::info("cascade stage 1/3: {} prompts with {}", n, res.first);
  run_generation(cs, items, job);

  // ---- 2. score them
  auto score_these = [&](const std::set<std::string>& files) {
    std::vector<ScoreItem> todo;
    for (auto& it : read_score_items(job.out_dir))
      if (files.count(it.file)) todo.push_back(std::move(it));
    if (todo.size() != files.size())
      fail("{}: {} of {} images are missing from its manifest", job.out_dir, files.size() - todo.size(), files.size());
    ScoreJobOptions so;
    so.targets = {{o.metric, o.scorer, score_file}};
    so.device = o.score_device;
    so.batch = o.score_batch;
    run_score_job(todo, so);
    return scores_by_file(score_file, o.metric);
  };
  std::vector<std::string> first_file(n);
  std::set<std::string> wanted;
  for (std::size_t i = 0; i < n; ++i) wanted.insert(first_file[i] = item_file(items[i], cs, job));
  auto scores = score_these(wanted);
  std::vector<double> observed(n);
  for (std::size_t i = 0; i < n; ++i) {
    auto it = scores.find(first_file[i]);
    if (it == scores.end()) fail("{}: no {} score for {}", score_file, o.metric, first_file[i]);
    observed[i] = it->second;
  }

  // ---- 3. route the priced options
  std::vector<std::string> prompts;
  for (const auto& p : pf.prompts) prompts.push_back(p.prompt);
  const Matrix d_cp = cp->predict_differences(prompts, observed);
  Matrix diff(n, m);
  std::vector<double> sigma(m, 0.0);
  for (std::size_t k = 0; k < cp->meta().candidates.size(); ++k) {
    const int c = cs.index(cp->meta().candidates[k]);
    sigma[c] = cp->meta().error_std[k];
    for (std::size_t i = 0; i < n; ++i) diff(i, c) = d_cp(i, k);
  }
  const CascadeOptions co{first, o.score_cost, o.keep_best};
  const std::vector<double> costs = cs.costs(), option_costs = cascade_costs(costs, co);
  const Matrix predicted = cascade_predicted(observed, diff, sigma, co);
  // The priced options routed as route routes candidates (router/routing_policy: lambda, budget,
  // or the objective; the default budget the cost of the candidate with the best mean
  // predicted quality); no guard: the first image is observed.
  if (request.budget && *request.budget < option_costs[first])
    fail("--cascade: the budget {} {} is below the first candidate's cost plus scoring ({} {})", *request.budget,
         cs.cost_unit, option_costs[first], cs.cost_unit);
  RoutingRequest cascade_request = request;
  cascade_request.margin = 0;
  const RoutingOutcome routed =
      RoutingPolicy(cs.names(), costs, cs.cost_unit, cs.source).route(predicted, cascade_request, &option_costs);
  const Routing& r = routed.routing;
  const std::string& mode = routed.mode;
  res.lambda = r.lambda;
  res.mean_cost = r.mean_cost;
  res.mean_predicted = r.mean_predicted;
  for (int c : r.choice) res.escalated += c != first;
  spdlog::info("cascade stage 2/3: {} of {} prompts escalated ({}), expected mean cost {:.4g} {}", res.escalated, n,
               mode, r.mean_cost, cs.cost_unit);

  // ---- 4. the escalated prompts with their candidate (the first images are in the same job: skipped as done)
  std::vector<std::string> second_file(n);
  std::set<std::string> seconds;
  for (std::size_t i = 0; i < n; ++i)
    if (r.choice[i] != first) {
      GenerationItem it = items[i];
      it.candidate = r.choice[i];
      second_file[i] = item_file(it, cs, job);
      seconds.insert(second_file[i]);
      items.push_back(it);
    }
  spdlog::info("cascade stage 3/3: {} escalated prompts", res.escalated);
  run_generation(cs, items, job);
  if (o.keep_best && !seconds.empty()) {
    std::set<std::string> all = wanted;
    all.insert(seconds.begin(), seconds.end());
    scores = score_these(all);
  }

  // ---- 5. keep, link, record
  std::string log;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& p = pf.prompts[i];
    const bool up = r.choice[i] != first;
    std::string kept = first_file[i];
    json rec = {{"line", p.line},
                {"id", p.id},
                {"prompt", p.prompt},
                {"first", res.first},
                {"first_file", first_file[i]},
                {"observed", observed[i]},
                {"escalated", up},
                {"candidate", cs.candidates[r.choice[i]].name},
                {"cost", option_costs[r.choice[i]]}};
    json pred = json::object();
    for (std::size_t k = 0; k < m; ++k) pred[cs.candidates[k].name] = predicted(i, k);
    rec["predicted"] = pred;
    if (up) {
      rec["second_file"] = second_file[i];
      if (o.keep_best) {
        auto it = scores.find(second_file[i]);
        if (it == scores.end()) fail("{}: no {} score for {}", score_file, o.metric, second_file[i]);
        rec["second_score"] = it->second;
        if (it->second > observed[i]) kept = second_file[i];
      } else {
        kept = second_file[i];
      }
      rec["other_file"] = kept == first_file[i] ? second_file[i] : first_file[i];
    }
    rec["kept_file"] = kept;
    rec["file"] = fs::path(first_file[i]).filename().string();  // the kept image, named as a plain route names it
    place_kept(out, kept, rec["file"].get<std::string>());
    log += rec.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    res.records.push_back(std::move(rec));
  }
  write_file_atomic((out / "cascade.jsonl").string(), log);
  spdlog::info("cascade: kept images linked as {}/ID.png; decisions in {}", job.out_dir,
               (out / "cascade.jsonl").string());
  return res;
}

}  // namespace catimage
