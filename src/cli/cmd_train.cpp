// catimage train: fit a quality predictor on a quality table.
#include <filesystem>
#include <memory>

#include "catimage/io/table_split.hpp"
#include "catimage/predictor/cascade_predictor.hpp"
#include "catimage/predictor/registry.hpp"
#include "catimage/predictor/trainer.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"
#include "catimage/eval/validation_scorer.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"

namespace catimage::cli {

namespace {

struct TrainOptions {
  std::string table, val, kind = default_predictor_kind(), outdir, config, metric = "unknown", tokenizer;
  std::uint64_t seed = 0;
  int epochs = 0;
  bool all = false;
  std::string hyper, cascade;
  double margin = 0;
};

// --cascade FIRST: the cascade's predictor, on every row (it selects nothing on validation).
int run_cascade(const TrainOptions& o) {
  if (!o.val.empty()) fail("--cascade trains on every row of --table: it takes no --val");
  CascadeTrainRequest r;
  r.first = o.cascade;
  r.metric = o.metric;
  r.seed = o.seed;
  const json h = parse_hyper(o.hyper);
  for (const auto& [k, v] : h.items()) {
    if (k != "alpha") fail("--hyper: cascade-ridge takes only \"alpha\" (got \"{}\")", k);
    if (!v.is_number() || !(v.get<double>() > 0))
      fail("--hyper: \"alpha\" must be a positive number, got {}", v.dump());
    r.alpha = v.get<double>();
  }
  const auto table = load_quality_table(o.table);
  auto p = train_cascade_predictor(table, r);
  p->save(o.outdir);
  spdlog::info("wrote cascade predictor (first {}) to {}", o.cascade, o.outdir);
  return 0;
}

int run(const TrainOptions& o) {
  if (!o.cascade.empty()) return run_cascade(o);
  auto train = load_quality_table(o.table);
  QualityTable val;
  val.candidates = train.candidates;
  if (o.all) {
    if (!o.val.empty()) fail("--all trains on every row of --table: it takes no --val");
    spdlog::info("--all: training on all {} prompts, no validation set", train.rows.size());
  } else if (!o.val.empty()) {
    val = load_quality_table(o.val).reordered(train.candidates);
  } else {
    auto s = split_table(train, {0.9, 0.1}, o.seed);
    train = s.parts[0];
    val = s.parts[1];
    spdlog::info("no --val: holding out {} of {} prompts (seed {}) for validation", val.rows.size(),
                 train.rows.size() + val.rows.size(), o.seed);
  }
  TrainRequest req;
  req.kind = o.kind;
  req.seed = o.seed;
  req.metric = o.metric;
  req.tokenizer_model = o.tokenizer;
  req.max_epochs = o.epochs;
  req.hyper = parse_hyper(o.hyper);
  req.costs = training_costs(train, o.config);
  req.validation = router_aiq_scorer();
  auto p = train_predictor(req, train, val);
  p->mutable_meta().margin = o.margin;
  p->save(o.outdir);
  spdlog::info("wrote predictor to {}", o.outdir);
  return 0;
}

}  // namespace

Runner add_train(CLI::App& app) {
  auto o = std::make_shared<TrainOptions>();
  auto* c = app.add_subcommand("train", "Train a quality predictor on a quality table");
  c->add_option("-t,--table", o->table, "Training quality table (JSONL)")->required();
  c->add_option("--val", o->val, "Validation table (default: a seeded 10% of --table)");
  c->add_flag("--all", o->all,
              "Train on every row, no validation set (kinds that need none: tfidf-ridge with --hyper '{\"alpha\": A}' "
              "chosen by `catimage cv`)");
  c->add_option("--cascade", o->cascade,
                "Train the cascade's predictor instead (kind cascade-ridge): each candidate's quality difference to "
                "FIRST given the prompt and FIRST's observed score; on every row; --hyper '{\"alpha\": A}' (default "
                "10)");
  c->add_option(
       "--margin", o->margin,
       "Guard margin recorded for `route` (choose it with `catimage cv --clusters K --margins ...`; default 0)")
      ->check(at_least(0));
  c->add_option("-k,--kind", o->kind,
                "Predictor kind (default " + default_predictor_kind() + "):\n" + predictor_kinds_help())
      ->check(CLI::IsMember(predictor_kind_names()));
  c->add_option("--seed", o->seed, "Random seed (same seed, same predictor)")->check(kSeed);
  c->add_option("-o,--output", o->outdir, "Folder to write the predictor to")->required();
  c->add_option("-c,--config", o->config, "Candidates config for costs (default: the table's mean costs)");
  c->add_option("--metric", o->metric, "Name of the quality metric, recorded in the metadata");
  c->add_option("--tokenizer", o->tokenizer, "Sentencepiece model (default: models/tokenizer/prompts.model)");
  c->add_option("--epochs", o->epochs, "Maximum epochs (default: the kind's own)");
  c->add_option(
      "--hyper", o->hyper,
      "JSON object of neural hyper-parameters: lr, lr_transformer, weight_decay, dropout, dim, hidden, buckets");
  return [o] { return run(*o); };
}

}  // namespace catimage::cli
