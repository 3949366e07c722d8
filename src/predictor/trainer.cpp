#include "catimage/predictor/trainer.hpp"

#include <chrono>

#include "catimage/predictor/registry.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"
#include "predictor/training_data.hpp"

namespace catimage {

std::unique_ptr<Predictor> train_predictor(const TrainRequest& req, const QualityTable& train_table,
                                           const QualityTable& val_table) {
  const auto& kind = predictor_kind(req.kind);
  const bool no_val = val_table.rows.empty();
  if (no_val && kind.needs_validation)
    fail("{} selects on a validation set (early stopping, weights): give it validation rows", req.kind);
  if (!no_val && val_table.candidates != train_table.candidates)
    fail("{} and {} have different candidates", train_table.source, val_table.source);
  auto t0 = std::chrono::steady_clock::now();
  PredictorMeta meta;
  meta.kind = req.kind;
  meta.candidates = train_table.candidates;
  meta.metric = req.metric;
  meta.stats = compute_target_stats(train_table);
  auto train = make_training_set(train_table, meta.stats);
  auto val = make_training_set(val_table, meta.stats);
  auto p = kind.train({req, meta, train, val});
  p->mutable_meta().length_range = LengthRange::fit(train.prompts);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto& tr = p->mutable_meta().training;
  tr["seed"] = req.seed;
  tr["train_table"] = train_table.source;
  if (!train_table.content_hash.empty()) tr["train_table_fnv1a64"] = train_table.content_hash;
  tr["val_table"] = val_table.source;
  tr["train_prompts"] = train_table.rows.size();
  tr["val_prompts"] = val_table.rows.size();
  tr["costs"] = req.costs;
  tr["seconds"] = secs;
  if (no_val) {
    tr["validation"] = nullptr;
    spdlog::info("trained {} on all {} rows in {:.1f} s (no validation set)", req.kind, train_table.rows.size(), secs);
    return p;
  }
  auto score = validation_score(req, *p, val);
  tr["validation"] = score.summary;
  spdlog::info("trained {} in {:.1f} s: {}", req.kind, secs, score.description);
  return p;
}

}  // namespace catimage
