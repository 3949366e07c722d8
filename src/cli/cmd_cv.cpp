// catimage cv: K-fold cross-validation of a predictor kind on a quality table, optionally
// compared, paired on the same folds, with a second kind.
#include <filesystem>
#include <iostream>

#include "catimage/eval/adapt_cv.hpp"
#include "catimage/eval/cluster_cv.hpp"
#include "catimage/eval/cross_validation.hpp"
#include "catimage/eval/multi_metric_cv.hpp"
#include "catimage/io/atomic_file.hpp"
#include "catimage/io/quality_table.hpp"
#include "catimage/predictor/registry.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"
#include "catimage/util/strings.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"

namespace catimage::cli {

namespace {

struct CvOptions {
  std::string table, kind = default_predictor_kind(), compare, hyper, compare_hyper, config, metric = "unknown",
                     tokenizer, output, title;
  int folds = 5, repeats = 1, epochs = 0, test_max_words = 0;
  std::string cascade, judge;
  int clusters = 0;
  std::vector<double> margins = {0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3};
  double min_share = 0.9, margin = 0, se_tolerance = 0.0;
  double cascade_alpha = 10, score_cost = 0;
  std::vector<int> adapt;
  std::vector<double> weight_grid = default_weight_grid();
  double default_weight = default_user_weight();
  LearningOptions learn;
  bool no_learning = false;
  std::uint64_t seed = 0;
  double val_fraction = 0.1;
  bool json_out = false;
  std::vector<std::string> also, floors;  // --also METRIC=TABLE, --floor
  std::string objective;
};

CvArm make_arm(const CvOptions& o, const std::string& kind, const std::string& hyper_text, const char* option) {
  CvArm a;
  a.train.kind = kind;
  a.train.metric = o.metric;
  a.train.tokenizer_model = o.tokenizer;
  a.train.max_epochs = o.epochs;
  a.train.hyper = parse_hyper(hyper_text, option);
  a.label = kind + (a.train.hyper.empty() ? "" : " " + a.train.hyper.dump());
  return a;
}

// --clusters: leave-cluster-out calibration of the guard margin.
int run_guard(const CvOptions& o, const QualityTable& t) {
  if (!o.compare.empty() || o.test_max_words)
    fail("--clusters calibrates the guard of one kind: it takes no --compare or --test-max-words");
  GuardCvRequest req;
  req.arm = make_arm(o, o.kind, o.hyper, "--hyper");
  req.clusters = o.clusters;
  req.repeats = o.repeats;
  req.margins = o.margins;
  req.seed = o.seed;
  req.val_fraction = o.val_fraction;
  req.costs = training_costs(t, o.config);
  req.min_share = o.min_share;
  req.se_tolerance = o.se_tolerance;
  req.cascade = {o.cascade, o.cascade_alpha, o.score_cost};
  spdlog::info("{}: {} prompts; leave-cluster-out over {} clusters of {}", o.table, t.rows.size(), o.clusters,
               req.arm.label);
  const GuardCvResult r = guard_cross_validate(t, req);
  const std::string title =
      o.title.empty() ? "leave-cluster-out guard calibration on " + std::filesystem::path(o.table).filename().string()
                      : o.title;
  if (!o.output.empty()) {
    write_file_atomic(o.output, guard_cv_json(r).dump(2) + "\n");
    spdlog::info("wrote {}", o.output);
  }
  if (o.json_out)
    std::cout << guard_cv_json(r).dump(2) << "\n";
  else
    std::cout << guard_cv_markdown(r, title);
  return 0;
}

// --adapt: labelled prompts of held-out clusters (eval/adapt_cv.hpp).
int run_adapt(const CvOptions& o, const QualityTable& t) {
  if (!o.compare.empty() || o.test_max_words || !o.judge.empty())
    fail("--adapt takes no --compare, --test-max-words or --judge");
  if (o.kind != "tfidf-ridge") fail("--adapt trains tfidf-ridge (the kind that takes row weights), not {}", o.kind);
  AdaptCvRequest req;
  req.ks = o.adapt;
  req.clusters = o.clusters ? o.clusters : 10;
  req.repeats = o.repeats;
  req.seed = o.seed;
  const json hyper = parse_hyper(o.hyper, "--hyper");
  req.alpha = hyper.value("alpha", 10.0);
  req.margin = o.margin;
  req.first = o.cascade;
  req.cascade_alpha = o.cascade_alpha;
  req.score_cost = o.score_cost;
  req.weight_grid = o.weight_grid;
  req.default_weight = o.default_weight;
  req.learning = !o.no_learning;
  req.learn = o.learn;
  req.learn.seed = o.seed;
  req.costs = training_costs(t, o.config);
  spdlog::info("{}: {} prompts; {} labelled prompts of each of {} held-out clusters", o.table, t.rows.size(),
               json(o.adapt).dump(), req.clusters);
  const AdaptCvResult r = adapt_cross_validate(t, req);
  const std::string title =
      o.title.empty() ? "adapting to held-out clusters of " + std::filesystem::path(o.table).filename().string()
                      : o.title;
  if (!o.output.empty()) {
    write_file_atomic(o.output, adapt_cv_json(r).dump(2) + "\n");
    spdlog::info("wrote {}", o.output);
  }
  if (o.json_out)
    std::cout << adapt_cv_json(r).dump(2) << "\n";
  else
    std::cout << adapt_cv_markdown(r, title);
  return 0;
}

// --also: routing on several metrics (eval/multi_metric_cv.hpp).
int run_metrics(const CvOptions& o, const QualityTable& t) {
  if (!o.compare.empty() || o.test_max_words || !o.judge.empty() || !o.adapt.empty())
    fail("--also takes no --compare, --test-max-words, --judge or --adapt");
  if (o.kind != "tfidf-ridge") fail("--also routes with tfidf-ridge and cascade-ridge predictors, not {}", o.kind);
  if (o.metric == "unknown") fail("--also: name the metric of --table with --metric (e.g. --metric clip)");
  MetricCvRequest req;
  req.metrics.push_back(o.metric);
  req.tables.push_back(t);
  for (const std::string& item : o.also) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size())
      fail("--also takes METRIC=TABLE (e.g. nima=models/tables/cems-diffusiondb-nima.jsonl), got \"{}\"", item);
    req.metrics.push_back(item.substr(0, eq));
    req.tables.push_back(load_quality_table(item.substr(eq + 1)));
  }
  req.costs = training_costs(t, o.config);
  req.first = o.cascade;
  req.alpha = parse_hyper(o.hyper, "--hyper").value("alpha", 10.0);
  req.score_cost = o.score_cost;
  req.folds = o.folds;
  req.clusters = o.clusters;
  req.seed = o.seed;
  req.arms = default_metric_arms(req.metrics);
  if (!o.objective.empty() || !o.floors.empty()) {
    MetricCvArm extra{o.objective.empty() ? o.metric : o.objective, o.floors};
    bool known = false;
    for (const auto& a : req.arms) known = known || a.label() == extra.label();
    if (!known) req.arms.push_back(extra);
  }
  spdlog::info("{}: {} prompts, metrics {}; {}", o.table, t.rows.size(), join(req.metrics, ", "),
               o.clusters ? fmt::format("leave-cluster-out over {} clusters", o.clusters)
                          : fmt::format("{}-fold cross-validation", o.folds));
  const MetricCvResult r = metric_cross_validate(req);
  const std::string title = o.title.empty() ? "routing on " + join(req.metrics, " and ") + ", " +
                                                  (o.clusters ? "held-out clusters" : "cross-validated") + " on " +
                                                  std::filesystem::path(o.table).filename().string()
                                            : o.title;
  if (!o.output.empty()) {
    write_file_atomic(o.output, metric_cv_json(r).dump(2) + "\n");
    spdlog::info("wrote {}", o.output);
  }
  if (o.json_out)
    std::cout << metric_cv_json(r).dump(2) << "\n";
  else
    std::cout << metric_cv_markdown(r, title);
  return 0;
}

int run(const CvOptions& o) {
  const QualityTable t = load_quality_table(o.table);
  if (!o.also.empty()) return run_metrics(o, t);
  if (!o.objective.empty() || !o.floors.empty()) fail("--objective and --floor route on several metrics: give --also");
  if (!o.adapt.empty()) return run_adapt(o, t);
  if (o.clusters) return run_guard(o, t);
  CvRequest req;
  req.folds = o.folds;
  req.repeats = o.repeats;
  req.seed = o.seed;
  req.val_fraction = o.val_fraction;
  req.costs = training_costs(t, o.config);
  req.names = t.candidates;
  req.arms.push_back(make_arm(o, o.kind, o.hyper, "--hyper"));
  if (!o.compare.empty()) {
    req.arms.push_back(make_arm(o, o.compare, o.compare_hyper, "--compare-hyper"));
    if (req.arms[0].label == req.arms[1].label) req.arms[1].label += " (compared)";
  } else if (!o.compare_hyper.empty()) {
    req.arms.push_back(make_arm(o, o.kind, o.compare_hyper, "--compare-hyper"));
  }
  req.cascade = {o.cascade, o.cascade_alpha, o.score_cost};
  req.test_max_words = o.test_max_words;
  req.margin = o.margin;
  if (!o.judge.empty()) req.judge = load_quality_table(o.judge);
  spdlog::info("{}: {} prompts, {} candidates; {}-fold cross-validation x {} of {}", o.table, t.rows.size(),
               t.candidates.size(), o.folds, o.repeats,
               req.arms.size() == 2 ? req.arms[0].label + " vs " + req.arms[1].label : req.arms[0].label);
  const CvResult r = cross_validate(t, req);
  const std::string title =
      o.title.empty() ? "cross-validation on " + std::filesystem::path(o.table).filename().string() : o.title;
  if (!o.output.empty()) {
    write_file_atomic(o.output, cv_json(r).dump(2) + "\n");
    spdlog::info("wrote {}", o.output);
  }
  if (o.json_out)
    std::cout << cv_json(r).dump(2) << "\n";
  else
    std::cout << cv_markdown(r, title);
  return 0;
}

}  // namespace

Runner add_cv(CLI::App& app) {
  auto o = std::make_shared<CvOptions>();
  auto* c =
      app.add_subcommand("cv", "K-fold cross-validation of a predictor kind on a quality table (paired comparisons)");
  c->add_option("-t,--table", o->table, "Quality table (JSONL)")->required();
  c->add_option("-k,--kind", o->kind,
                "Predictor kind (default " + default_predictor_kind() + "):\n" + predictor_kinds_help())
      ->check(CLI::IsMember(predictor_kind_names()));
  c->add_option("--compare", o->compare, "A second kind, evaluated on the same folds (paired differences)")
      ->check(CLI::IsMember(predictor_kind_names()));
  c->add_option("--hyper", o->hyper, "JSON object of hyper-parameters for --kind (as for train)");
  c->add_option("--compare-hyper", o->compare_hyper,
                "JSON object of hyper-parameters for the second arm (without --compare: --kind again with these)");
  c->add_option("--cascade", o->cascade,
                "Also cross-validate cascade routing from this first candidate (and cascade + keep-best), paired "
                "with --kind on the same folds");
  c->add_option("--cascade-alpha", o->cascade_alpha, "Ridge alpha of the cascade predictor (default 10)")
      ->check(greater_than(0));
  c->add_option("--score-cost", o->score_cost, "Cost of scoring one image, in the cost unit (default 0)")
      ->check(at_least(0));
  c->add_option("--test-max-words", o->test_max_words,
                "Measure on the held-out prompts of at most this many words only (e.g. 6: short prompts)")
      ->check(at_least(0));
  c->add_option("--clusters", o->clusters,
                "Leave-cluster-out calibration of the guard margin instead: k-means the prompts into this many "
                "clusters (>= 2), hold each out whole, route with every --margins value")
      ->check(CLI::Range(2, 1000));
  c->add_option("--margins", o->margins, "Guard margins to try, ascending (with --clusters)")->delimiter(',');
  c->add_option("--min-share", o->min_share,
                "Share of held-out clusters that must be at or above the best single (with --clusters; default 0.9)")
      ->check(CLI::Range(0.0, 1.0));
  c->add_option("--judge", o->judge,
                "Judge every arm on this table's metric instead (the same prompts and images under another metric, "
                "matched by id); routing and keep-best still use --table's");
  c->add_option("--margin", o->margin, "Route the prompt-only arms with this guard margin (default 0: no guard)")
      ->check(at_least(0));
  c->add_option("--se-tolerance", o->se_tolerance,
                "With --clusters: a cluster counts as at or above the best single unless its gain is below it by more "
                "than this many standard errors of that gain (default 0: strictly >= 0)")
      ->check(at_least(0));
  c->add_option("--adapt", o->adapt,
                "Adapting to a user's prompts instead: hold out each of --clusters clusters (default 10), label this "
                "many of its prompts (e.g. 0,50,200), train on the rest + them (their weight chosen by CV on them) and "
                "measure on the rest of the cluster; with --cascade FIRST also the cascade and the cascade that "
                "learns as it runs")
      ->delimiter(',')
      ->check(CLI::NonNegativeNumber);
  c->add_option("--weight-grid", o->weight_grid,
                "With --adapt: the user-row weights tried (must hold --default-weight; default 1,3,10,30)")
      ->delimiter(',');
  c->add_option("--default-weight", o->default_weight,
                "With --adapt: the user-row weight kept unless the CV finds one better by more than 2 standard errors "
                "(default 3)")
      ->check(CLI::PositiveNumber);
  c->add_option("--learn-every", o->learn.every,
                "With --adapt --cascade: refit the learning cascade after every this many prompts (default 100)")
      ->check(at_least(1));
  c->add_option("--explore", o->learn.explore,
                "With --adapt --cascade: share of prompts the learning cascade escalates to a uniformly drawn "
                "candidate (default 0)")
      ->check(CLI::Range(0.0, 0.999));
  c->add_option("--learn-weight", o->learn.run_weight,
                "With --adapt --cascade: weight of a learnt run row (times 1/propensity; base rows weigh 1; default 1)")
      ->check(greater_than(0));
  c->add_option("--ipw-cap", o->learn.max_ipw, "With --adapt --cascade: cap on 1/propensity (default: none)")
      ->check(at_least(1));
  c->add_flag("--no-learning", o->no_learning, "With --adapt --cascade: skip the learning cascade's simulation");
  c->add_option("--also", o->also,
                "Route on several metrics instead: another metric's table of the same prompts and images, METRIC=TABLE "
                "(repeatable; --metric names --table's); every objective's gain on every metric, prompt-only and with "
                "--cascade, on --folds folds or --clusters held-out clusters")
      ->delimiter(';');
  c->add_option(
      "--objective", o->objective,
      "With --also: one more objective to measure (METRIC:W[,METRIC:W...] on standardised metrics, or mixed)");
  c->add_option("--floor", o->floors,
                "With --also: floors of that objective (METRIC: the best affordable single's predicted mean; METRIC=V)")
      ->delimiter(',');
  c->add_option("--folds", o->folds, "Number of folds (default 5)")->check(CLI::Range(2, 1000));
  c->add_option("--repeats", o->repeats, "Repeat with fresh folds (default 1)")->check(CLI::Range(1, 1000));
  c->add_option("--seed", o->seed, "Seed of the folds and the training (default 0)")->check(kSeed);
  c->add_option("--val-fraction", o->val_fraction,
                "Share of each fold's training rows held back for the kind's own selection (default 0.1)")
      ->check(CLI::Range(0.01, 0.49));
  c->add_option("-c,--config", o->config, "Candidates config for costs (default: the table's mean costs)");
  c->add_option("--metric", o->metric, "Name of the quality metric (recorded in the trained folds' metadata)");
  c->add_option("--tokenizer", o->tokenizer, "Sentencepiece model (default: models/tokenizer/prompts.model)");
  c->add_option("--epochs", o->epochs, "Maximum epochs (default: the kind's own)")->check(at_least(0));
  c->add_flag("--json", o->json_out,
              "Print one JSON object (summary, paired differences, every fold) instead of Markdown");
  c->add_option("-o,--output", o->output, "Also write that JSON to this file");
  c->add_option("--title", o->title, "Title of the Markdown table");
  return [o] { return run(*o); };
}

}  // namespace catimage::cli
