#pragma once
// `catimage train`: fits a predictor of any kind (registry.hpp) on a quality table, selects on
// validation, and writes it with its metadata.
#include <memory>
#include <string>

#include "catimage/io/quality_table.hpp"
#include "catimage/predictor/predictor.hpp"
#include "catimage/predictor/validation.hpp"

namespace catimage {

struct TrainRequest {
  std::string kind;
  std::uint64_t seed = 0;
  std::string metric;           // recorded in the metadata
  std::string tokenizer_model;  // default: the shipped models/tokenizer/prompts.model
  std::vector<double> costs;    // per candidate, table order (for validation routing)
  int max_epochs = 0;           // 0: the kind's default
  // Optional overrides. Neural kinds: lr, lr_transformer, weight_decay, dropout, dim, hidden, buckets,
  // prompt_stats, char_ngrams, patience; ensemble: bags, ridge_weight; both: confidence_pct [lo, hi].
  json hyper = json::object();
  // Scores the validation set (eval/validation_scorer.hpp: router_aiq_scorer()); required
  // whenever there is a validation set.
  ValidationScorer validation;
};

std::unique_ptr<Predictor> train_predictor(const TrainRequest& req, const QualityTable& train, const QualityTable& val);

}  // namespace catimage
