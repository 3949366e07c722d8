#include "catimage/predictor/trainer.hpp"

#include <algorithm>
#include <chrono>

#include "catimage/predictor/ensemble.hpp"
#include "catimage/predictor/neural_predictor.hpp"
#include "catimage/predictor/tfidf_ridge.hpp"
#include "catimage/predictor/training_data.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"

namespace catimage {

std::unique_ptr<Predictor> train_predictor(const TrainRequest& req, const QualityTable& train_table,
                                           const QualityTable& val_table) {
  if (std::find(kPredictorKinds.begin(), kPredictorKinds.end(), req.kind) == kPredictorKinds.end())
    fail("unknown predictor kind \"{}\"", req.kind);
  if (val_table.candidates != train_table.candidates)
    fail("{} and {} have different candidates", train_table.source, val_table.source);
  auto t0 = std::chrono::steady_clock::now();
  PredictorMeta meta;
  meta.kind = req.kind;
  meta.candidates = train_table.candidates;
  meta.metric = req.metric;
  meta.stats = compute_target_stats(train_table);
  auto train = make_training_set(train_table, meta.stats);
  auto val = make_training_set(val_table, meta.stats);
  auto neural = [&](const std::string& kind, std::uint64_t seed) {
    NeuralTrainOptions o;
    o.kind = kind;
    o.seed = seed;
    o.tokenizer_model = req.tokenizer_model.empty() ? SentencePieceTokenizer::default_model() : req.tokenizer_model;
    if (req.max_epochs > 0) o.max_epochs_bag = o.max_epochs_transformer = req.max_epochs;
    o.lr_bag = req.hyper.value("lr", o.lr_bag);
    o.lr_transformer = req.hyper.value("lr_transformer", o.lr_transformer);
    o.weight_decay = req.hyper.value("weight_decay", o.weight_decay);
    o.dropout = req.hyper.value("dropout", o.dropout);
    o.dim = req.hyper.value("dim", o.dim);
    o.hidden = req.hyper.value("hidden", o.hidden);
    o.buckets = req.hyper.value("buckets", o.buckets);
    o.prompt_stats = req.hyper.value("prompt_stats", o.prompt_stats);
    o.char_ngrams = req.hyper.value("char_ngrams", o.char_ngrams);
    o.patience = req.hyper.value("patience", o.patience);
    o.confidence_pct = req.hyper.value("confidence_pct", o.confidence_pct);
    return train_neural(meta, o, train, val, req.costs);
  };
  std::unique_ptr<Predictor> p;
  if (req.kind == "tfidf-ridge") {
    p = train_tfidf_ridge(meta, train, val, req.costs);
  } else if (req.kind == "ensemble") {
    // The TF-IDF ridge (half the weight) plus seed-bagged bag nets (the other half): the
    // mix that validated best (see README).
    const int bags = req.hyper.value("bags", 5);
    const double ridge_weight = req.hyper.value("ridge_weight", 0.5);
    std::vector<std::unique_ptr<Predictor>> members;
    std::vector<std::string> names;
    json member_val = json::object();
    members.push_back(train_tfidf_ridge(meta, train, val, req.costs));
    names.push_back("tfidf-ridge");
    for (int b = 0; b < bags; ++b) {
      auto bag = neural("bag", req.seed + b);
      if (b > 0) bag->drop_memory();  // one member's memory serves the confidence
      members.push_back(std::move(bag));
      names.push_back(fmt::format("bag-{}", b + 1));
    }
    for (std::size_t k = 0; k < members.size(); ++k)
      member_val[names[k]] = eval_summary(validation_score(*members[k], val, req.costs).eval);
    std::string tok = members.back()->meta().tokenizer_checksum;
    std::vector<double> weights = {ridge_weight};
    for (int b = 0; b < bags; ++b) weights.push_back((1 - ridge_weight) / bags);
    auto e = std::make_unique<EnsemblePredictor>(meta, std::move(members), names, weights);
    e->mutable_meta().tokenizer_checksum = tok;
    e->mutable_meta().model = {{"members", names}, {"weights", weights}};
    e->mutable_meta().training["members_validation"] = member_val;
    auto pct = req.hyper.value("confidence_pct", NeuralTrainOptions{}.confidence_pct);
    e->mutable_meta().confidence = calibrate_confidence(*e, val, pct.at(0), pct.at(1));
    p = std::move(e);
  } else {
    p = neural(req.kind, req.seed);
  }
  p->mutable_meta().length_range = LengthRange::fit(train.prompts);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto score = validation_score(*p, val, req.costs);
  auto& tr = p->mutable_meta().training;
  tr["seed"] = req.seed;
  tr["train_table"] = train_table.source;
  tr["val_table"] = val_table.source;
  tr["train_prompts"] = train_table.rows.size();
  tr["val_prompts"] = val_table.rows.size();
  tr["costs"] = req.costs;
  tr["seconds"] = secs;
  tr["validation"] = eval_summary(score.eval);
  const auto& r = score.eval;
  spdlog::info("trained {} in {:.1f} s: validation AIQ {:.4f}, quality at best-single cost {:+.4f} vs {}, "
               "oracle gain captured {}", req.kind, secs, r.router.aiq,
               r.router.quality_at_best_single_cost - r.singles[r.best_single].quality, r.names[r.best_single],
               r.router.oracle_gap_captured ? fmt::format("{:.1f}%", 100 * *r.router.oracle_gap_captured) : "n/a");
  return p;
}

}  // namespace catimage
