#include "catimage/batch/cascade_job.hpp"

#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <system_error>

#include <spdlog/fmt/fmt.h>

#include "batch/image_key.hpp"
#include "batch/job_lock.hpp"
#include "batch/manifest.hpp"
#include "catimage/batch/score_job.hpp"
#include "catimage/eval/learning_simulation.hpp"
#include "catimage/io/atomic_file.hpp"
#include "catimage/io/quality_table.hpp"
#include "catimage/predictor/cascade_predictor.hpp"
#include "catimage/router/cascade.hpp"
#include "catimage/router/metric_routing.hpp"
#include "catimage/router/router.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/hash.hpp"
#include "catimage/util/logging.hpp"
#include "catimage/util/paths.hpp"
#include "catimage/util/strings.hpp"

namespace fs = std::filesystem;

namespace catimage {

CascadePhase parse_cascade_phase(const std::string& text) {
  if (text == "all") return CascadePhase::all;
  if (text == "first") return CascadePhase::first;
  if (text == "plan") return CascadePhase::plan;
  if (text == "second") return CascadePhase::second;
  fail("--cascade-phase must be all, first, plan or second, got \"{}\"", text);
}

namespace {

constexpr const char* kPlanFile = "cascade-plan.jsonl";
constexpr const char* kRecordsFile = "cascade.jsonl";
constexpr const char* kRunTableFile = "cascade-run.jsonl";

// The scorer metric a cascade predictor's observed scores were measured with.
std::string scorer_metric_of(const std::string& predictor_metric) {
  if (predictor_metric == "clip" || predictor_metric == "clipscore") return "clipscore";
  if (predictor_metric == "pickscore") return "pickscore";
  if (predictor_metric == "nima") return "nima";
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

// This process's score file: scores-METRIC.jsonl, or scores-METRIC-KofN.jsonl for shard K/N
// (shards score at the same time; each score file is locked by its writer).
std::string shard_score_file(const std::string& dir, const std::string& metric, const Shard& shard) {
  if (shard.whole()) return folder_score_file(dir, metric);
  return (fs::path(dir) / fmt::format("scores-{}-{}of{}.jsonl", metric, shard.index, shard.count)).string();
}

// Every score of the folder's score files (all shards') that belongs to the image its
// manifest records now (same key), by this scorer and metric: file -> record.
class ScoreBook {
 public:
  ScoreBook(const std::string& dir, const std::string& metric, const std::string& scorer_id) {
    std::map<std::string, std::string> key;  // file -> its manifest key
    if (fs::is_directory(dir))
      for (const auto& it : read_score_items(dir)) key[it.file] = it.origin.value("key", "");
    const std::string stem = "scores-" + metric;
    if (!fs::is_directory(dir)) return;
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      const bool shard_file =
          name.rfind(stem + "-", 0) == 0 && name.size() > 6 && name.compare(name.size() - 6, 6, ".jsonl") == 0;
      if (name == stem + ".jsonl" || shard_file) files.push_back(e.path().string());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files)
      for (const auto& [file, rec] : read_record_log(f)) {
        auto k = key.find(file);
        if (k == key.end() || rec.value("key", "") != k->second || rec.value("metric", "") != metric ||
            rec.value("scorer_id", "") != scorer_id || !rec.contains("score") || !rec["score"].is_number())
          continue;
        records_[file] = rec;
      }
  }
  const json* find(const std::string& file) const {
    auto it = records_.find(file);
    return it == records_.end() ? nullptr : &it->second;
  }
  std::optional<double> score(const std::string& file) const {
    const json* r = find(file);
    return r ? std::optional<double>((*r)["score"].get<double>()) : std::nullopt;
  }

 private:
  std::map<std::string, json> records_;
};

// Everything a phase needs, checked before any work.
struct Cascade {
  const CandidateSet& cs;
  const PromptFile& pf;
  const RoutingRequest& request;
  GenerationJobOptions job;
  const CascadeJobOptions& o;
  std::unique_ptr<CascadePredictor> cp;
  int first = 0;
  std::size_t n = 0, m = 0;
  std::vector<GenerationItem> items;  // FIRST's, one per prompt
  std::vector<std::string> first_file;
  CascadeOptions co;
  std::vector<double> costs, option_costs, sigma;
  std::string scorer_id;
  fs::path out;
  // More metrics (routing on several): each with its predictor and scorer.
  struct Metric {
    std::unique_ptr<CascadePredictor> cp;
    std::string scorer, scorer_metric, scorer_id;
  };
  std::vector<Metric> more;
  bool several() const { return !more.empty() || !o.objective.empty() || !o.floors.empty(); }

  GenerationItem escalation(std::size_t i, int c) const {
    GenerationItem it = items[i];
    it.candidate = c;
    return it;
  }
  std::string file_of(std::size_t i, int c) const { return item_file(escalation(i, c), cs, job); }
  std::vector<std::string> prompts() const {
    std::vector<std::string> p;
    for (const auto& x : pf.prompts) p.push_back(x.prompt);
    return p;
  }
  // A cascade predictor's differences in the config's candidate order.
  Matrix differences(const std::vector<double>& observed, const CascadePredictor* p = nullptr) const {
    if (!p) p = cp.get();
    const Matrix d = p->predict_differences(prompts(), observed);
    Matrix out(n, m);
    for (std::size_t k = 0; k < p->meta().candidates.size(); ++k) {
      const int c = cs.index(p->meta().candidates[k]);
      for (std::size_t i = 0; i < n; ++i) out(i, c) = d(i, k);
    }
    return out;
  }
};

// Scores `files` (each an image of the folder's manifests) into this shard's score file of the
// cascade's metric, and with `every_metric` of each of its other metrics too, in one pass.
void score_files(const Cascade& c, const std::set<std::string>& files, bool every_metric = false) {
  if (files.empty()) return;
  std::vector<ScoreItem> todo;
  for (auto& it : read_score_items(c.job.out_dir))
    if (files.count(it.file)) todo.push_back(std::move(it));
  if (todo.size() != files.size())
    fail("{}: {} of {} images are missing from its manifests", c.job.out_dir, files.size() - todo.size(), files.size());
  ScoreJobOptions so;
  so.targets = {{c.o.metric, c.o.scorer, shard_score_file(c.job.out_dir, c.o.metric, c.job.shard)}};
  if (every_metric)
    for (const auto& mm : c.more)
      so.targets.push_back(
          {mm.scorer_metric, mm.scorer, shard_score_file(c.job.out_dir, mm.scorer_metric, c.job.shard)});
  so.device = c.o.score_device;
  so.batch = c.o.score_batch;
  run_score_job(todo, so);
}

// ---- phase first: this shard's prompts with FIRST, scored
void run_first(const Cascade& c) {
  std::set<std::string> mine;
  for (std::size_t i = 0; i < c.n; ++i)
    if (c.job.shard.owns(i)) mine.insert(c.first_file[i]);
  spdlog::info("cascade, first images: {} prompts with {}", mine.size(), c.cp->meta().first);
  run_generation(c.cs, c.items, c.job);
  score_files(c, mine, true);
}

// One line of the plan per decided prompt.
struct PlanLine {
  CascadeDecision d;
  std::string key;  // the block's inputs (learning plans), for reuse
};

json plan_line(const Cascade& c, std::size_t i, const CascadeDecision& d, double observed, const std::string& key) {
  json j = {{"index", i},
            {"id", c.pf.prompts[i].id},
            {"block", d.block},
            {"candidate", c.cs.candidates[d.candidate].name},
            {"escalated", d.candidate != c.first},
            {"lambda", d.lambda},
            {"observed", observed},
            {"first_file", c.first_file[i]}};
  json pred = json::object();
  for (std::size_t k = 0; k < c.m; ++k) pred[c.cs.candidates[k].name] = d.predicted.at(k);
  j["predicted"] = pred;
  if (d.candidate != c.first) j["second_file"] = c.file_of(i, d.candidate);
  if (c.o.learn) {
    j["explored"] = d.explored;
    j["propensity"] = d.propensity;
    j["router_choice"] = c.cs.candidates[d.router_choice].name;
    j["block_key"] = key;
  }
  return j;
}

std::vector<PlanLine> read_plan(const Cascade& c) {
  std::vector<PlanLine> out;
  const fs::path p = c.out / kPlanFile;
  if (!fs::is_regular_file(p)) return out;
  std::istringstream in(read_file(p.string()));
  std::string text;
  while (std::getline(in, text)) {
    PlanLine l;
    try {
      const json line = json::parse(text);
      l.d.block = line.at("block").get<int>();
      l.d.candidate = c.cs.index(line.at("candidate").get<std::string>());
      l.d.lambda = line.at("lambda").get<double>();
      l.d.explored = line.value("explored", false);
      l.d.propensity = line.value("propensity", 1.0);
      l.d.router_choice = c.cs.index(line.value("router_choice", line.at("candidate").get<std::string>()));
      l.key = line.value("block_key", "");
      for (const auto& cand : c.cs.candidates)
        l.d.predicted.push_back(line.at("predicted").at(cand.name).get<double>());
      if (line.at("index").get<std::size_t>() != out.size() || l.d.candidate < 0 || l.d.router_choice < 0)
        return {};  // not this batch's plan: planned again
    } catch (const json::exception&) {
      return {};  // a plan from another version or torn: planned again
    }
    out.push_back(l);
  }
  return out;
}

struct PlanState {
  std::vector<CascadeDecision> decisions;  // the planned prompts, in order (predicted: the first metric's)
  std::vector<std::string> block_key;      // per planned block (learning plans)
  std::size_t blocks = 1;
  double lambda = 0, budget = 0;  // budget per prompt (0 with a lambda)
  std::string mode;
  // With several metrics: per metric (the cascade's first, then the others) its name, the
  // observed first scores and every option's predicted value.
  std::vector<std::string> metric_names;
  std::vector<std::vector<double>> metric_observed;
  std::vector<Matrix> metric_predicted;
};

std::string hex_double(double x) { return fmt::format("{:a}", x); }

// The base rows of a learning cascade's refits, in the config's candidate order: --learn-base,
// else the table the cascade predictor names (checked by its hash).
QualityTable learning_base(const Cascade& c) {
  std::string path = c.o.learn_base;
  const json& tr = c.cp->meta().training;
  if (path.empty()) {
    const std::string rel = tr.value("table", "");
    if (rel.empty())
      fail("{}: the cascade predictor names no training table: give --learn-base TABLE (the table it was trained on)",
           c.o.predictor);
    path = fs::exists(rel) ? rel : find_resource(rel);
    if (path.empty()) fail("{}: its training table {} was not found (give --learn-base TABLE)", c.o.predictor, rel);
  }
  QualityTable base = load_quality_table(path);
  if (c.o.learn_base.empty() && tr.contains("table_fnv1a64") && tr["table_fnv1a64"] != base.content_hash)
    fail(
        "{}: not the table the cascade predictor {} was trained on (its hash {}, the predictor's {}); give "
        "--learn-base",
        path, c.o.predictor, base.content_hash, tr["table_fnv1a64"].get<std::string>());
  const std::set<std::string> a(base.candidates.begin(), base.candidates.end());
  const auto names = c.cs.names();
  if (a != std::set<std::string>(names.begin(), names.end()))
    fail("{}: its candidates ({}) are not those of {} ({})", path, join(base.candidates, ", "), c.cs.source,
         join(names, ", "));
  return base.reordered(names);
}

// The learning plan: every block whose predecessors' escalations are scored. A block's key
// hashes everything its decisions depend on (the options, the predictor, the base table, every
// prompt and first score, and the second scores of the blocks before it); a block whose key is
// the one on disk is read back rather than refitted.
PlanState plan_learning(const Cascade& c, const std::vector<double>& observed, const ScoreBook& scores) {
  const QualityTable base = learning_base(c);
  CascadeTrainRequest cr;
  cr.first = c.cp->meta().first;
  cr.alpha = c.cp->meta().alpha;
  cr.metric = c.cp->meta().metric;
  const std::vector<std::string> prompts = c.prompts();
  const std::vector<std::string> names = c.cs.names();
  std::shared_ptr<const CascadePredictor> initial(c.cp.get(), [](const CascadePredictor*) {});
  // The refitter (its vocabulary and base features take a moment) is built at the first refit.
  std::shared_ptr<const CascadeRefitter> refitter;
  DifferenceRefit refit = [&](const std::vector<RunLabel>& labels, const std::vector<std::size_t>& which) {
    if (!labels.empty() && !refitter) refitter = std::make_shared<const CascadeRefitter>(base, cr, prompts, c.sigma);
    return cascade_ridge_refit(initial, refitter, prompts, observed, names)(labels, which);
  };
  std::vector<std::string> ids;
  for (const auto& p : c.pf.prompts) ids.push_back(p.id);
  const CascadeLearner learner({ids, observed, c.costs, c.co, c.sigma}, c.request, c.o.learning, refit, names,
                               c.cs.cost_unit);
  PlanState s;
  s.blocks = learner.blocks();
  s.budget = std::isfinite(learner.total_budget()) && c.n ? learner.total_budget() / c.n : 0.0;
  s.mode = c.request.lambda ? fmt::format("lambda {}", *c.request.lambda)
                            : fmt::format("budget {:.6g} {} per prompt", s.budget, c.cs.cost_unit);
  const std::vector<PlanLine> stored = read_plan(c);
  std::string k0 = fmt::format("{}|{}|{}|{}|{}|{}|{}|{}|{}|{}", FolderIdentity().of(c.o.predictor), base.content_hash,
                               c.o.learning.every, hex_double(c.o.learning.explore), c.o.learning.seed,
                               hex_double(c.o.learning.run_weight), hex_double(c.o.learning.max_ipw),
                               hex_double(learner.total_budget()), hex_double(c.co.score_cost), c.co.keep_best);
  for (std::size_t k = 0; k < c.m; ++k) k0 += fmt::format("|{}:{}", names[k], hex_double(c.costs[k]));
  for (std::size_t i = 0; i < c.n; ++i)
    k0 += "|" + c.pf.prompts[i].id + "\x1f" + c.pf.prompts[i].prompt + "\x1f" + hex_double(observed[i]);
  std::string key = fnv1a128_hex(k0);
  std::vector<std::optional<double>> second(c.n);
  bool reuse = true;
  for (std::size_t b = 0; b < s.blocks; ++b) {
    const std::size_t begin = learner.block_begin(b), end = learner.block_end(b);
    if (b > 0) {  // the previous block's escalations must be scored; their scores extend the key
      std::string more = key;
      for (std::size_t i = learner.block_begin(b - 1); i < begin; ++i) {
        const int cand = s.decisions[i].candidate;
        if (cand == c.first) continue;
        second[i] = scores.score(c.file_of(i, cand));
        if (!second[i]) return s;  // not yet: block b - 1's escalations are still to be generated and scored
        more += "|" + hex_double(*second[i]);
      }
      key = fnv1a128_hex(more);
    }
    reuse = reuse && stored.size() >= end && stored[begin].key == key;
    if (reuse) {
      for (std::size_t i = begin; i < end; ++i) s.decisions.push_back(stored[i].d);
    } else {
      const auto block = learner.plan_block(b, s.decisions, second);
      s.decisions.insert(s.decisions.end(), block.begin(), block.end());
      spdlog::info("cascade plan: block {}/{} (prompts {}-{}){}", b + 1, s.blocks, begin + 1, end,
                   b ? ", the predictor refitted on the run's escalations so far" : "");
    }
    s.block_key.push_back(key);
    s.lambda = s.decisions.back().lambda;
  }
  return s;
}

// The static plan: every prompt at once, routed as route routes candidates (routing_policy:
// lambda, budget or the objective; the default budget the cost of the candidate with the best
// mean predicted option quality); no guard: the first image is observed.
PlanState plan_static(const Cascade& c, const std::vector<double>& observed) {
  const Matrix predicted = cascade_predicted(observed, c.differences(observed), c.sigma, c.co);
  if (c.request.budget && *c.request.budget < c.option_costs[c.first])
    fail("--cascade: the budget {} {} is below the first candidate's cost plus scoring ({} {})", *c.request.budget,
         c.cs.cost_unit, c.option_costs[c.first], c.cs.cost_unit);
  RoutingRequest rq = c.request;
  rq.margin = 0;
  const RoutingOutcome routed =
      RoutingPolicy(c.cs.names(), c.costs, c.cs.cost_unit, c.cs.source).route(predicted, rq, &c.option_costs);
  PlanState s;
  s.mode = routed.mode;
  s.lambda = routed.routing.lambda;
  s.budget = c.request.lambda ? 0.0 : c.request.budget ? *c.request.budget : c.costs[routed.best_single];
  for (std::size_t i = 0; i < c.n; ++i) {
    CascadeDecision d;
    d.candidate = d.router_choice = routed.routing.choice[i];
    d.lambda = s.lambda;
    for (std::size_t k = 0; k < c.m; ++k) d.predicted.push_back(predicted(i, k));
    s.decisions.push_back(d);
  }
  return s;
}

// The static plan on several metrics: each metric's options predicted from its own first score,
// routed on the objective under the floors (router/metric_routing.hpp) within the request's
// budget or lambda (default: the cost of the best single by the objective's predicted means).
PlanState plan_metrics(const Cascade& c, const std::vector<std::vector<double>>& observed) {
  if (c.request.objective == Objective::savings)
    fail("--cascade on several metrics: --objective savings is not available; give --budget or --lambda");
  if (c.request.budget && *c.request.budget < c.option_costs[c.first])
    fail("--cascade: the budget {} {} is below the first candidate's cost plus scoring ({} {})", *c.request.budget,
         c.cs.cost_unit, c.option_costs[c.first], c.cs.cost_unit);
  PlanState s;
  MetricRoutingInput in;
  std::vector<const CascadePredictor*> cps{c.cp.get()};
  for (const auto& mm : c.more) cps.push_back(mm.cp.get());
  for (std::size_t k = 0; k < cps.size(); ++k) {
    const CascadeMeta& meta = cps[k]->meta();
    if (!meta.scale)
      fail(
          "{}: the cascade predictor of {} records no metric_scale (trained before routing on several metrics): "
          "train it again with `catimage train --cascade {}`",
          k == 0 ? c.o.predictor : c.o.more_predictors[k - 1], meta.metric, meta.first);
    in.metrics.push_back(meta.metric);
    in.scales.push_back(*meta.scale);
    in.predicted.push_back(cascade_predicted(observed[k], c.differences(observed[k], cps[k]), c.sigma, c.co));
  }
  in.costs = c.costs;
  in.option_costs = c.option_costs;
  in.allowed =
      RoutingPolicy(c.cs.names(), c.costs, c.cs.cost_unit, c.cs.source).allowed(c.request.max_cost, c.request.exclude);
  MetricRoutingRequest rq;
  std::string objective = c.o.objective;
  if (objective.empty()) objective = equal_weights_objective(in.metrics);
  rq.objective = parse_metric_objective(objective, in.metrics);
  rq.floors = parse_metric_floors(c.o.floors, in.metrics);
  rq.budget = c.request.budget;
  rq.lambda = c.request.lambda;
  const MetricRouting routed = route_metrics(in, rq);
  s.mode = routed.mode;
  s.lambda = routed.routing.lambda;
  s.budget = c.request.lambda ? 0.0 : routed.budget;
  for (std::size_t i = 0; i < c.n; ++i) {
    CascadeDecision d;
    d.candidate = d.router_choice = routed.routing.choice[i];
    d.lambda = s.lambda;
    for (std::size_t k = 0; k < c.m; ++k) d.predicted.push_back(in.predicted[0](i, k));
    s.decisions.push_back(d);
  }
  s.metric_names = in.metrics;
  s.metric_observed = observed;
  s.metric_predicted = std::move(in.predicted);
  return s;
}

void write_plan(const Cascade& c, const PlanState& s, const std::vector<double>& observed) {
  std::string text;
  for (std::size_t i = 0; i < s.decisions.size(); ++i) {
    const auto& d = s.decisions[i];
    text += plan_line(c, i, d, observed[i], s.block_key.empty() ? "" : s.block_key.at(d.block))
                .dump(-1, ' ', false, json::error_handler_t::replace) +
            "\n";
  }
  write_file_atomic((c.out / kPlanFile).string(), text);
}

// Every prompt's first score, or a failure naming what is missing and the phase to run.
std::vector<double> first_scores(const Cascade& c, const ScoreBook& scores, const std::string& metric) {
  std::vector<double> observed(c.n);
  std::vector<std::string> missing;
  for (std::size_t i = 0; i < c.n; ++i) {
    const auto s = scores.score(c.first_file[i]);
    if (s)
      observed[i] = *s;
    else
      missing.push_back(c.first_file[i]);
  }
  if (!missing.empty()) {
    const std::vector<std::string> some(missing.begin(), missing.begin() + std::min<std::size_t>(missing.size(), 5));
    fail(
        "{}: {} of {} first images have no {} score yet ({}{}): run --cascade-phase first for every shard before the "
        "plan",
        c.job.out_dir, missing.size(), c.n, metric, join(some, ", "), missing.size() > 5 ? ", ..." : "");
  }
  return observed;
}

// ---- phase second: the shard's planned escalations, scored where needed
void run_second(const Cascade& c) {
  const std::vector<PlanLine> plan = read_plan(c);
  if (plan.empty()) fail("{}: no {} here: run --cascade-phase plan first", c.job.out_dir, kPlanFile);
  std::vector<GenerationItem> items = c.items;  // the first images, done: skipped
  std::set<std::string> seconds;
  for (std::size_t i = 0; i < plan.size(); ++i)
    if (plan[i].d.candidate != c.first && c.job.shard.owns(i)) {
      items.push_back(c.escalation(i, plan[i].d.candidate));
      seconds.insert(c.file_of(i, plan[i].d.candidate));
    }
  spdlog::info("cascade, escalations: {} planned prompt(s) of this shard escalated", seconds.size());
  run_generation(c.cs, items, c.job);
  if (c.o.keep_best || c.o.learn) score_files(c, seconds);
}

// "" when every planned escalation is generated (and scored where needed); else what is missing.
std::string escalations_missing(const Cascade& c, const PlanState& s, const ScoreBook& scores) {
  std::set<std::string> recorded;
  for (const auto& it : read_score_items(c.job.out_dir)) recorded.insert(it.file);
  std::size_t no_image = 0, no_score = 0;
  for (std::size_t i = 0; i < s.decisions.size(); ++i) {
    const int cand = s.decisions[i].candidate;
    if (cand == c.first) continue;
    const std::string f = c.file_of(i, cand);
    if (!recorded.count(f))
      ++no_image;
    else if ((c.o.keep_best || c.o.learn) && !scores.score(f))
      ++no_score;
  }
  if (no_image + no_score == 0) return "";
  return fmt::format("{} escalated image(s) not generated yet and {} not scored: run --cascade-phase second", no_image,
                     no_score);
}

// The finished folder: the kept image of every prompt linked as ID.png, cascade.jsonl and the run table.
void finish(const Cascade& c, const PlanState& s, const std::vector<double>& observed, const ScoreBook& scores,
            CascadeJobResult& res) {
  std::string log, run_table;
  auto run_row = [&](std::size_t i, const std::string& file, const std::string& candidate, const char* role,
                     const CascadeDecision* d) {
    const json* r = scores.find(file);
    if (!r) return;  // an escalation that is not scored (no keep-best, no learning)
    json row = {{"id", c.pf.prompts[i].id},
                {"candidate", candidate},
                {"role", role},
                {"score", (*r)["score"]},
                {"seed", c.items[i].seed},
                {"image_hash", r->value("image_hash", "")},
                {"file", file}};
    if (d && c.o.learn) {
      row["block"] = d->block;
      row["explored"] = d->explored;
      row["propensity"] = d->propensity;
    }
    run_table += row.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  };
  res.records.clear();
  for (std::size_t i = 0; i < c.n; ++i) {
    const auto& p = c.pf.prompts[i];
    const CascadeDecision& d = s.decisions[i];
    const bool up = d.candidate != c.first;
    std::string kept = c.first_file[i];
    json rec = {{"line", p.line},
                {"id", p.id},
                {"prompt", p.prompt},
                {"first", c.cp->meta().first},
                {"first_file", c.first_file[i]},
                {"observed", observed[i]},
                {"escalated", up},
                {"candidate", c.cs.candidates[d.candidate].name},
                {"cost", c.option_costs[d.candidate]}};
    json pred = json::object();
    for (std::size_t k = 0; k < c.m; ++k) pred[c.cs.candidates[k].name] = d.predicted.at(k);
    rec["predicted"] = pred;
    if (c.o.learn) {
      rec["block"] = d.block;
      rec["explored"] = d.explored;
      rec["propensity"] = d.propensity;
    }
    if (!s.metric_names.empty()) {  // several metrics: each one's first score and predictions
      json metrics = json::object();
      for (std::size_t k = 0; k < s.metric_names.size(); ++k) {
        json mp = json::object();
        for (std::size_t j = 0; j < c.m; ++j) mp[c.cs.candidates[j].name] = s.metric_predicted[k](i, j);
        metrics[s.metric_names[k]] = {{"observed", s.metric_observed[k][i]}, {"predicted", std::move(mp)}};
      }
      rec["metrics"] = std::move(metrics);
    }
    run_row(i, c.first_file[i], c.cp->meta().first, "first", nullptr);
    if (up) {
      const std::string second = c.file_of(i, d.candidate);
      rec["second_file"] = second;
      if (c.o.keep_best || c.o.learn) {
        const auto sc = scores.score(second);
        if (!sc) fail("{}: no {} score for {}", c.job.out_dir, c.o.metric, second);
        rec["second_score"] = *sc;
        if (!c.o.keep_best || *sc > observed[i]) kept = second;
      } else {
        kept = second;
      }
      rec["other_file"] = kept == c.first_file[i] ? second : c.first_file[i];
      run_row(i, second, c.cs.candidates[d.candidate].name, "second", &d);
    }
    rec["kept_file"] = kept;
    rec["file"] = fs::path(c.first_file[i]).filename().string();  // the kept image, named as a plain route names it
    place_kept(c.out, kept, rec["file"].get<std::string>());
    log += rec.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    res.records.push_back(std::move(rec));
  }
  write_file_atomic((c.out / kRunTableFile).string(), run_table);
  write_file_atomic((c.out / kRecordsFile).string(), log);
  res.finished = true;
  res.pending.clear();
  spdlog::info("cascade: kept images linked as {}/ID.png; decisions in {}", c.job.out_dir,
               (c.out / kRecordsFile).string());
}

// ---- phase plan: plan what can be planned; finish the folder when everything is done
void run_plan(const Cascade& c, CascadeJobResult& res) {
  const ScoreBook scores(c.job.out_dir, c.o.metric, c.scorer_id);
  const std::vector<double> observed = first_scores(c, scores, c.o.metric);
  std::vector<std::vector<double>> every{observed};
  for (const auto& mm : c.more)
    every.push_back(first_scores(c, ScoreBook(c.job.out_dir, mm.scorer_metric, mm.scorer_id), mm.scorer_metric));
  const PlanState s = c.o.learn     ? plan_learning(c, observed, scores)
                      : c.several() ? plan_metrics(c, every)
                                    : plan_static(c, observed);
  write_plan(c, s, observed);
  res.blocks = s.blocks;
  res.planned_blocks = s.block_key.empty() ? 1 : s.block_key.size();
  res.lambda = s.lambda;
  res.budget = s.budget;
  res.escalated = 0;
  double cost = 0, q = 0;
  for (const auto& d : s.decisions) {
    res.escalated += d.candidate != c.first;
    cost += c.option_costs[d.candidate];
    q += d.predicted.at(d.candidate);
  }
  res.mean_cost = s.decisions.empty() ? 0.0 : cost / s.decisions.size();
  res.mean_predicted = s.decisions.empty() ? 0.0 : q / s.decisions.size();
  spdlog::info("cascade plan ({}): {} of {} prompts planned ({}/{} block(s)), {} escalated", s.mode, s.decisions.size(),
               c.n, res.planned_blocks, res.blocks, res.escalated);
  if (s.decisions.size() < c.n) {
    res.pending = fmt::format(
        "{} of {} prompts planned: generate and score the escalations planned so far (--cascade-phase second), then "
        "plan again",
        s.decisions.size(), c.n);
    return;
  }
  res.pending = escalations_missing(c, s, scores);
  if (res.pending.empty()) finish(c, s, observed, scores, res);
}

}  // namespace

CascadeJobResult run_cascade_job(const CandidateSet& cs, const PromptFile& pf, const RoutingRequest& request,
                                 GenerationJobOptions job, const CascadeJobOptions& o) {
  // ---- checks before any work
  const bool sharded_phase = o.phase == CascadePhase::first || o.phase == CascadePhase::second;
  if (!job.shard.whole() && !sharded_phase)
    fail(
        "--cascade{} routes the whole batch on every first image's score (a budget is a property of the batch): run "
        "it without --shard, or shard its phases (--cascade-phase first and second with --shard, plan without)",
        o.phase == CascadePhase::plan ? " --cascade-phase plan" : "");
  if (!request.candidate.empty()) fail("--cascade chooses per prompt: it takes no --candidate");
  if (o.scorer.empty())
    fail("--cascade needs --scorer DIR (a transformers CLIPModel folder) to score the first images");
  Cascade c{cs, pf, request, job, o};
  c.cp = load_cascade_predictor(o.predictor);
  const std::string mpath = (fs::path(o.predictor) / "predictor.json").string();
  {
    std::set<std::string> a(c.cp->meta().candidates.begin(), c.cp->meta().candidates.end());
    const auto names = cs.names();
    std::set<std::string> b(names.begin(), names.end());
    if (a != b)
      fail("{}: its candidates ({}) are not those of {} ({})", mpath, join(c.cp->meta().candidates, ", "), cs.source,
           join(names, ", "));
  }
  const std::string want = scorer_metric_of(c.cp->meta().metric);
  if (want.empty())
    fail(
        "{}: trained on metric \"{}\", which catimage cannot score images with (clipscore, pickscore, nima): a cascade "
        "needs the first image scored on the predictor's own scale",
        mpath, c.cp->meta().metric);
  if (want != o.metric)
    fail("{}: trained on \"{}\" scores, but --metric is {}: the observed scores must be on the predictor's scale",
         mpath, c.cp->meta().metric, o.metric);
  c.first = cs.index(c.cp->meta().first);
  c.n = pf.prompts.size();
  c.m = cs.size();
  const std::vector<char> allowed =
      RoutingPolicy(cs.names(), cs.costs(), cs.cost_unit, cs.source).allowed(request.max_cost, request.exclude);
  if (!allowed.empty() && !allowed[c.first])
    fail("--cascade: the first candidate {} is excluded (--max-cost / --exclude / cannot generate here)",
         c.cp->meta().first);
  validate_generation_options(job);
  check_generatable(cs, cs.candidates[c.first], job);
  c.job.per_candidate_folders = true;
  c.out = fs::path(job.out_dir);
  c.co = CascadeOptions{c.first, o.score_cost, o.keep_best};
  c.co.score_second = o.learn;
  c.costs = cs.costs();
  c.option_costs = cascade_costs(c.costs, c.co);
  c.sigma.assign(c.m, 0.0);
  for (std::size_t k = 0; k < c.cp->meta().candidates.size(); ++k)
    c.sigma[cs.index(c.cp->meta().candidates[k])] = c.cp->meta().error_std[k];
  if (o.learn && o.keep_best)
    for (std::size_t k = 0; k < c.m; ++k)
      if (static_cast<int>(k) != c.first && !(c.sigma[k] > 0))
        fail("{}: no error spread for {} (trained without an out-of-fold estimate): keep-best cannot price it", mpath,
             cs.candidates[k].name);
  c.scorer_id = fnv1a64_hex(FolderIdentity().of(o.scorer));
  if (c.several() && (o.learn || o.keep_best))
    fail(
        "--cascade on several metrics (more --cascade-predictor folders, --objective, --floor) takes no --learn or "
        "--keep-best (both select and learn on one metric)");
  for (const std::string& dir : o.more_predictors) {
    Cascade::Metric mm;
    mm.cp = load_cascade_predictor(dir);
    const std::string path = (fs::path(dir) / "predictor.json").string();
    const CascadeMeta& meta = mm.cp->meta();
    if (meta.first != c.cp->meta().first)
      fail("{}: its first candidate is {}, the cascade's ({}) is {}", path, meta.first, mpath, c.cp->meta().first);
    if (std::set<std::string>(meta.candidates.begin(), meta.candidates.end()) !=
        std::set<std::string>(c.cp->meta().candidates.begin(), c.cp->meta().candidates.end()))
      fail("{}: its candidates ({}) are not those of {} ({})", path, join(meta.candidates, ", "), mpath,
           join(c.cp->meta().candidates, ", "));
    mm.scorer_metric = scorer_metric_of(meta.metric);
    if (mm.scorer_metric.empty())
      fail("{}: trained on metric \"{}\", which catimage cannot score images with (clipscore, pickscore, nima)", path,
           meta.metric);
    bool seen = mm.scorer_metric == o.metric;
    for (const auto& other : c.more) seen = seen || other.scorer_metric == mm.scorer_metric;
    if (seen) fail("{}: a second cascade predictor of metric {}", path, meta.metric);
    for (const auto& t : o.more_scorers)
      if (t.metric == mm.scorer_metric) mm.scorer = t.scorer;
    if (mm.scorer.empty())
      fail("{}: no scorer for its metric {}: give --metric {},{} --scorer {}=DIR", path, mm.scorer_metric, o.metric,
           mm.scorer_metric, mm.scorer_metric);
    mm.scorer_id = fnv1a64_hex(FolderIdentity().of(mm.scorer));
    c.more.push_back(std::move(mm));
  }
  for (const auto& t : o.more_scorers) {
    bool used = false;
    for (const auto& mm : c.more) used = used || mm.scorer_metric == t.metric;
    if (!used)
      fail("--scorer {}={}: no --cascade-predictor of metric {} to observe it for", t.metric, t.scorer, t.metric);
  }
  CascadeJobResult res;
  res.first = c.cp->meta().first;
  if (c.n == 0) return res;

  // The cascade's own files beside the generation's. Every phase holds the folder's job lock
  // for its life (the plan as an unsharded job: not while shards run); when no other job was
  // live in the folder, the temp files a killed run left of them go.
  create_output_folder(c.job.out_dir);
  const JobLock lock(c.job.out_dir, c.job.shard);
  c.items = generation_items(pf, std::vector<int>(c.n, c.first), job.seed);
  for (const auto& it : c.items) c.first_file.push_back(item_file(it, cs, c.job));
  if (lock.alone()) {
    std::set<std::string> own = {kRecordsFile, kPlanFile, kRunTableFile};
    for (const auto& it : c.items) own.insert(fs::path(item_file(it, cs, c.job)).filename().string());
    remove_stale_temps(c.job.out_dir, own);
  }

  switch (o.phase) {
    case CascadePhase::first:
      run_first(c);
      res.pending = "the plan (--cascade-phase plan), once every shard's first phase has run";
      break;
    case CascadePhase::plan: run_plan(c, res); break;
    case CascadePhase::second:
      run_second(c);
      res.pending = "the plan (--cascade-phase plan), once every shard's second phase has run";
      break;
    case CascadePhase::all:
      run_first(c);
      for (std::size_t planned = 0;;) {
        run_plan(c, res);
        if (res.finished) break;
        if (res.planned_blocks == planned && planned > 0 && res.planned_blocks == res.blocks)
          fail("{}: the cascade cannot finish: {}", c.job.out_dir, res.pending);
        planned = res.planned_blocks;
        run_second(c);
      }
      break;
  }
  return res;
}

}  // namespace catimage
