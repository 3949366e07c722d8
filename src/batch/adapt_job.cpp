#include "catimage/batch/adapt_job.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include <spdlog/fmt/fmt.h>

#include "catimage/batch/score_job.hpp"
#include "catimage/batch/sweep.hpp"
#include "catimage/eval/cluster_cv.hpp"
#include "catimage/eval/transfer_gain.hpp"
#include "catimage/eval/user_weight.hpp"
#include "catimage/eval/validation_scorer.hpp"
#include "catimage/io/atomic_file.hpp"
#include "catimage/io/quality_table.hpp"
#include "catimage/io/table_merge.hpp"
#include "catimage/predictor/cascade_predictor.hpp"
#include "catimage/predictor/feature_space.hpp"
#include "catimage/predictor/prompt_clusters.hpp"
#include "catimage/predictor/trainer.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"
#include "catimage/util/paths.hpp"
#include "catimage/util/strings.hpp"

namespace fs = std::filesystem;

namespace catimage {

namespace {

// The margins the guard's recalibration tries (those of `cv --clusters`).
const std::vector<double> kMargins = {0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3};

// The user's sample: N prompts stratified by cluster, as a prompt file (ids and explicit seeds
// kept, so each image's seed is the one the full file gives it).
std::string sample_text(const PromptFile& pf, const AdaptJobOptions& o, std::size_t& drawn) {
  std::vector<std::string> prompts;
  for (const auto& p : pf.prompts) prompts.push_back(p.prompt);
  std::vector<std::size_t> idx;
  if (prompts.size() <= o.sample || prompts.size() < 2) {
    for (std::size_t i = 0; i < prompts.size(); ++i) idx.push_back(i);
  } else {
    const int k = static_cast<int>(std::min<std::size_t>(o.clusters, prompts.size()));
    idx = stratified_sample(cluster_prompts(prompts, std::max(2, k), o.seed), o.sample, o.seed);
  }
  std::string text;
  for (std::size_t i : idx) {
    const auto& p = pf.prompts[i];
    json j = {{"id", p.id}, {"prompt", p.prompt}};
    if (p.seed) j["seed"] = *p.seed;
    text += j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  }
  drawn = idx.size();
  return text;
}

// The shipped base table of a metric.
std::string shipped_base(const std::string& metric) {
  const std::string name = metric == "clipscore" || metric == "clip" ? "clip" : metric == "nima" ? "nima" : "";
  if (name.empty())
    fail(
        "no shipped base table is scored with {} (the shipped ones: CLIP score, NIMA): give --base TABLE, or --base "
        "none to train on your rows alone",
        metric);
  const std::string p = find_resource("models/tables/cems-diffusiondb-" + name + ".jsonl");
  if (p.empty()) fail("the shipped base table models/tables/cems-diffusiondb-{}.jsonl was not found", name);
  return p;
}

void cell_stats(const QualityTable& t, double& mean, double& sd) {
  double s = 0, s2 = 0, n = 0;
  for (const auto& r : t.rows)
    for (double q : r.quality) s += q, s2 += q * q, n += 1;
  mean = s / n;
  sd = std::sqrt(std::max(0.0, s2 / n - mean * mean));
}

QualityTable load_written(const std::string& path, const QualityTable& t) {
  write_quality_table(path, t);
  return load_quality_table(path);  // so that the predictors name the file and its hash
}

json gains_json(const TransferGains* before, const UserWeightChoice& w) {
  json j = {{"after", w.folds ? json(w.gain[std::find(w.grid.begin(), w.grid.end(), w.chosen) - w.grid.begin()])
                              : json(nullptr)}};
  j["before"] = before ? json(before->mean()) : json(nullptr);
  return j;
}

}  // namespace

AdaptJobResult run_adapt_job(const CandidateSet& cs, const PromptFile* pf, const AdaptJobOptions& o) {
  AdaptJobResult res;
  if (o.out.empty()) fail("adapt needs --out DIR");
  if (!pf && o.table.empty()) fail("adapt needs a prompt file, or --table with your own quality table");
  if (o.base_scale != "same" && o.base_scale != "match")
    fail("--base-scale must be same or match, got \"{}\"", o.base_scale);
  if (o.sample < 1) fail("--sample must be at least 1");
  const std::vector<double> grid = o.weight_grid.empty() ? default_weight_grid() : o.weight_grid;
  if (o.base != "none") check_weight_grid(grid, o.default_weight);  // before the sweep, not after
  const fs::path out(o.out);
  json report = {{"config", cs.source}, {"metric", o.metric}, {"seed", o.seed}};

  // ---- 1-3: the user's table (sample, sweep, score, table), or their own
  QualityTable user;
  if (!o.table.empty()) {
    user = load_quality_table(o.table);
    report["user_table"] = o.table;
  } else {
    std::size_t drawn = 0;
    const std::string text = sample_text(*pf, o, drawn);
    const double per_prompt = [&] {
      double s = 0;
      for (double c : cs.costs()) s += c;
      return s;
    }();
    const std::string cost_line = fmt::format(
        "the sweep: {} prompts x {} candidates = {} images, {:.4g} {} by the candidates' costs ({:.4g} per prompt)",
        drawn, cs.size(), drawn * cs.size(), drawn * per_prompt, cs.cost_unit, per_prompt);
    if (o.dry_run) {
      res.message = cost_line;
      return res;
    }
    create_output_folder(o.out);
    const std::string sample_path = (out / "sample.jsonl").string();
    if (fs::exists(sample_path) && read_file(sample_path) != text)
      fail("{}: holds another sample (other prompts, --sample or --seed): adapt into another --out, or delete it",
           sample_path);
    if (!fs::exists(sample_path)) write_file_atomic(sample_path, text);
    spdlog::info("adapt: {} of {} prompts sampled (stratified by {} clusters) -> {}; {}", drawn, pf->prompts.size(),
                 o.clusters, sample_path, cost_line);
    const PromptFile sample = read_prompts(sample_path);
    GenerationJobOptions job = o.job;
    job.out_dir = (out / "sweep").string();
    run_sweep_job(cs, sample, job);
    if (!job.shard.whole()) {
      res.message = fmt::format(
          "shard {}/{} of the sweep is done; when every shard has run, run adapt again without --shard (the same "
          "options) to score, merge and train",
          job.shard.index, job.shard.count);
      return res;
    }
    if (o.scorer.empty()) fail("adapt needs --scorer DIR (a CLIPModel folder) to score the sweep");
    const UnstartedShards un = unstarted_shards(job.out_dir);
    if (!un.shards.empty()) fail("{}: {}: run that shard of the sweep first", job.out_dir, join(un.shards, "; "));
    ScoreJobOptions so;
    const std::string score_file = folder_score_file(job.out_dir, o.metric);
    so.targets = {{o.metric, o.scorer, score_file}};
    so.device = o.score_device;
    so.batch = o.score_batch;
    run_score_job(read_score_items(job.out_dir), so);
    const SweepTable st = join_sweep(job.out_dir, score_file, false);
    const std::string tpath = (fs::path(job.out_dir) / ("table-" + st.metric + ".jsonl")).string();
    write_quality_table(tpath, st.table);
    write_file_atomic((fs::path(job.out_dir) / "candidates-measured.json").string(),
                      candidates_to_json(st.measured).dump(2) + "\n");
    user = load_quality_table(tpath);
    report["sample"] = {{"file", sample_path}, {"prompts", drawn}, {"of", pf->prompts.size()}};
    report["user_table"] = tpath;
  }
  create_output_folder(o.out);
  user = user.reordered(cs.names());  // fails naming a candidate the table lacks
  const std::vector<double> costs = cs.costs();
  report["user_rows"] = user.rows.size();

  // ---- 4: the base table
  QualityTable base;
  base.candidates = user.candidates;
  base.source = "(no base table)";
  const bool no_base = o.base == "none";
  if (!no_base) {
    const std::string path = o.base.empty() ? shipped_base(o.metric) : o.base;
    base = load_quality_table(path);
    if (std::set<std::string>(base.candidates.begin(), base.candidates.end()) !=
        std::set<std::string>(user.candidates.begin(), user.candidates.end()))
      fail(
          "{} has candidates {}, {} has {}: a base table must measure the same candidates (give --base none to "
          "train on your rows alone)",
          path, join(base.candidates, ", "), report["user_table"].get<std::string>(), join(user.candidates, ", "));
    base = base.reordered(user.candidates);
    double mb, sb, mu, su;
    cell_stats(base, mb, sb);
    cell_stats(user, mu, su);
    json b = {{"table", path}, {"rows", base.rows.size()}, {"fnv1a64", base.content_hash}};
    if (o.base_scale == "match") {
      const QualityMap map = matching_map(base, user);
      base = mapped(base, map);
      b["mapped"] = {{"scale", map.scale}, {"shift", map.shift}};
      spdlog::info("adapt: the base table mapped onto your scale: q -> {:.4g} q {:+.4g}", map.scale, map.shift);
    } else if (std::abs(mu - mb) > sb || su > 2 * sb || su < sb / 2) {
      spdlog::warn(
          "adapt: your scores (mean {:.4g}, spread {:.4g}) look like another scale than the base table's ({:.4g}, "
          "{:.4g}), e.g. another CLIP model: --base-scale match maps the base onto yours",
          mu, su, mb, sb);
    }
    report["base"] = b;
  }
  const std::string first =
      o.first.empty() ? cs.candidates[std::min_element(costs.begin(), costs.end()) - costs.begin()].name : o.first;
  if (user.index(first) < 0) fail("--first {}: not a candidate of {}", first, cs.source);

  // ---- the user rows' weights, by cross-validation on the user's rows
  // The weights' CV fits many predictors on the base and user prompts: one vocabulary for all.
  std::vector<std::string> seen;
  for (const auto* t : {&base, &user})
    for (const auto& r : t->rows) seen.push_back(r.prompt);
  const FeatureSpace space(seen);
  auto measure_prompt = [&](const QualityTable& train, const QualityTable& test) {
    return prompt_only_gains(train, test, o.alpha, costs, 0, o.seed, &space);
  };
  auto measure_cascade = [&](const QualityTable& train, const QualityTable& test) {
    return cascade_gains(train, test, first, o.cascade_alpha, costs, 0, &space);
  };
  const std::vector<double> weights = no_base ? std::vector<double>{1} : grid;
  const double reference = no_base ? 1.0 : o.default_weight;
  const UserWeightChoice wp =
      choose_user_weight(base, user, weights, o.weight_folds, o.seed, measure_prompt, reference);
  const UserWeightChoice wc =
      choose_user_weight(base, user, weights, o.weight_folds, o.seed, measure_cascade, reference);
  std::unique_ptr<TransferGains> before_p, before_c;
  if (!no_base) {
    // as the base alone trains them (its own vocabulary): what routing your prompts gains today
    before_p = std::make_unique<TransferGains>(prompt_only_gains(base, user, o.alpha, costs, 0, o.seed));
    before_c = std::make_unique<TransferGains>(cascade_gains(base, user, first, o.cascade_alpha, costs));
  }
  report["weights"] = {{"prompt_only", wp.to_json()}, {"cascade", wc.to_json()}};
  report["gain_over_best_single"] = {{"prompt_only", gains_json(before_p.get(), wp)},
                                     {"cascade", gains_json(before_c.get(), wc)}};
  const QualityTable merged_p =
      load_written((out / "merged-prompt.jsonl").string(), merge_tables(base, user, wp.chosen));
  const QualityTable merged_c =
      load_written((out / "merged-cascade.jsonl").string(), merge_tables(base, user, wc.chosen));

  // ---- 5: the predictors
  TrainRequest tr;
  tr.kind = "tfidf-ridge";
  tr.hyper = {{"alpha", o.alpha}};
  tr.seed = o.seed;
  tr.metric = o.metric;
  tr.costs = costs;
  tr.validation = router_aiq_scorer();
  QualityTable none;
  none.candidates = merged_p.candidates;
  auto p = train_predictor(tr, merged_p, none);
  // The guard, recalibrated by leave-cluster-out CV on the merged table (as `cv --clusters`).
  const std::size_t per_cluster = 20;
  json guard = {{"clusters", o.clusters}};
  if (merged_p.rows.size() >= per_cluster * o.clusters) {
    GuardCvRequest g;
    g.arm = {"tfidf-ridge", tr};
    g.clusters = o.clusters;
    g.margins = kMargins;
    g.seed = o.seed;
    g.costs = costs;
    const GuardCvResult gr = guard_cross_validate(merged_p, g);
    p->mutable_meta().margin = gr.margins[gr.chosen];
    guard["margin"] = p->meta().margin;
    guard["rule_met"] = gr.met;
    guard["mean_gain_at_margin"] = guard_mean_gain(gr, gr.chosen);
  } else {
    guard["margin"] = 0;
    guard["skipped"] = fmt::format("{} rows are too few for {} held-out clusters of {} rows: no guard",
                                   merged_p.rows.size(), o.clusters, per_cluster);
    spdlog::warn("adapt: {}", guard["skipped"].get<std::string>());
  }
  p->mutable_meta().training["user_rows"] = {
      {"table", report["user_table"]}, {"weight", wp.chosen}, {"rows", user.rows.size()}};
  const std::string pdir = (out / "predictor").string(), cdir = (out / "cascade-predictor").string();
  p->save(pdir);
  CascadeTrainRequest cr;
  cr.first = first;
  cr.alpha = o.cascade_alpha;
  cr.metric = o.metric;
  cr.seed = o.seed;
  train_cascade_predictor(merged_c, cr)->save(cdir);
  report["guard"] = guard;
  report["first"] = first;
  report["predictors"] = {{"prompt_only", pdir}, {"cascade", cdir}};
  write_file_atomic((out / "adapt.json").string(), report.dump(2) + "\n");
  res.report = report;
  res.finished = true;
  return res;
}

}  // namespace catimage
