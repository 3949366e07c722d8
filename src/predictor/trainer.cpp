#include "catimage/predictor/trainer.hpp"

#include <chrono>

#include "catimage/predictor/registry.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"
#include "predictor/training_data.hpp"

namespace catimage {

PredictorMeta training_meta(const TrainRequest& req, const QualityTable& train_table) {
  PredictorMeta meta;
  meta.kind = req.kind;
  meta.candidates = train_table.candidates;
  meta.metric = req.metric;
  meta.stats = compute_target_stats(train_table);
  meta.scale = metric_scale(train_table.quality_matrix());
  return meta;
}

void record_training(Predictor& p, const TrainRequest& req, const QualityTable& train_table,
                     const QualityTable& val_table, const std::vector<std::string>& train_prompts, double secs) {
  p.mutable_meta().length_range = LengthRange::fit(train_prompts);
  auto& tr = p.mutable_meta().training;
  tr["seed"] = req.seed;
  tr["train_table"] = train_table.source;
  if (!train_table.content_hash.empty()) tr["train_table_fnv1a64"] = train_table.content_hash;
  tr["val_table"] = val_table.source;
  tr["train_prompts"] = train_table.rows.size();
  tr["val_prompts"] = val_table.rows.size();
  tr["costs"] = req.costs;
  tr["seconds"] = secs;
}

std::unique_ptr<Predictor> train_predictor(const TrainRequest& req, const QualityTable& train_table,
                                           const QualityTable& val_table) {
  const auto& kind = predictor_kind(req.kind);
  const bool no_val = val_table.rows.empty();
  if (no_val && kind.needs_validation)
    fail("{} selects on a validation set (early stopping, weights): give it validation rows", req.kind);
  if (train_table.weighted() && !kind.row_weights)
    fail("{}: its rows are weighted (\"weight\"), and kind {} does not train with row weights (tfidf-ridge does)",
         train_table.source, req.kind);
  if (!no_val && val_table.candidates != train_table.candidates)
    fail("{} and {} have different candidates", train_table.source, val_table.source);
  auto t0 = std::chrono::steady_clock::now();
  const PredictorMeta meta = training_meta(req, train_table);
  auto train = make_training_set(train_table, meta.stats);
  auto val = make_training_set(val_table, meta.stats);
  auto p = kind.train({req, meta, train, val});
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  record_training(*p, req, train_table, val_table, train.prompts, secs);
  if (no_val) {
    p->mutable_meta().training["validation"] = nullptr;
    spdlog::info("trained {} on all {} rows in {:.1f} s (no validation set)", req.kind, train_table.rows.size(), secs);
    return p;
  }
  auto score = validation_score(req, *p, val);
  p->mutable_meta().training["validation"] = score.summary;
  spdlog::info("trained {} in {:.1f} s: {}", req.kind, secs, score.description);
  return p;
}

}  // namespace catimage
