#pragma once
// A quality predictor: prompt -> predicted quality of every candidate generator.
//
// On disk a predictor is a folder with predictor.json (kind, candidates, metric, tokenizer
// checksum, target statistics, confidence calibration, training summary) and
// weights.safetensors (plus tfidf.json for the TF-IDF kinds). No pickle anywhere.
//
// Each kind (its name, description, how to train and load it) is a row of one table: see
// registry.hpp.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "catimage/io/json_file.hpp"
#include "catimage/io/metric_scale.hpp"
#include "catimage/util/matrix.hpp"

namespace catimage {

// How raw outputs become qualities. Models predict per-prompt deviations from the prompt's
// mean over candidates (what ranking depends on) and that mean (the level), standardised.
struct TargetStats {
  std::vector<double> prior;  // training mean quality per candidate
  double level_mean = 0, level_std = 1, dev_std = 1;
};

// Shrinks predicted deviations towards the prior when a prompt is unlike the training
// prompts: s = clamp((sim - lo) / (hi - lo), 0, 1), sim = mean cosine similarity of the k
// nearest training prompts; q = level + prior_dev + s * (dev - prior_dev).
struct Confidence {
  bool enabled = false;
  double lo = 0, hi = 1;
  double shrink(double sim) const;
};

// Shrinks the same way when a prompt's length lies outside the training prompts' lengths:
// s = 1 between the 2nd and 98th percentile of training word counts, falling linearly to 0 at
// the 0.5th / 99.5th percentile and beyond. Calibrated on the training prompts alone.
struct LengthRange {
  bool enabled = false;
  double lo_zero = 0, lo_one = 0, hi_one = 0, hi_zero = 0;  // word counts
  double shrink(int words) const;
  static LengthRange fit(const std::vector<std::string>& training_prompts);
};

struct PredictorMeta {
  std::string kind;
  std::vector<std::string> candidates;
  std::string metric;
  std::string tokenizer_checksum;  // empty when no tokenizer is used
  TargetStats stats;
  Confidence confidence;
  LengthRange length_range;
  double margin = 0;  // the guard's tau for `route` (router/guard.hpp), from `cv --clusters`
  json training;      // free-form training summary (seed, epochs, validation figures, time)
  json model;         // architecture hyper-parameters
  // The metric's spread over the training table's cells ("metric_scale"): what routing on
  // several metrics standardises by. Absent in predictors trained before it was recorded.
  std::optional<MetricScale> scale;
};

json meta_to_json(const PredictorMeta& m);
// Raw standardised outputs (deviations, level) -> qualities, with confidence shrinkage.
// extra_shrink (optional, per prompt) caps the shrink factor, e.g. from LengthRange.
Matrix qualities_from_raw(const Matrix& raw, const TargetStats& st, const Confidence& conf,
                          const std::vector<double>& similarity, const std::vector<double>& extra_shrink = {});
PredictorMeta meta_from_json(const json& j, const std::string& origin);

class Predictor {
 public:
  explicit Predictor(PredictorMeta meta) : meta_(std::move(meta)) {}
  virtual ~Predictor() = default;
  const PredictorMeta& meta() const { return meta_; }
  PredictorMeta& mutable_meta() { return meta_; }

  // Predicted qualities (prompts x candidates, in meta().candidates order).
  Matrix predict(const std::vector<std::string>& prompts) const;
  // Raw standardised outputs: deviation (M) then level; and similarity to training
  // prompts (NaN when the kind has none). Implemented by each kind.
  virtual void predict_raw(const std::vector<std::string>& prompts, Matrix& raw,
                           std::vector<double>& similarity) const = 0;
  virtual void save(const std::string& dir) const = 0;

 protected:
  void save_meta(const std::string& dir) const;

 private:
  PredictorMeta meta_;
};

// Loads any kind from its folder (dispatching on the kind in predictor.json through the
// registry); errors name the folder and the file.
std::unique_ptr<Predictor> load_predictor(const std::string& dir);
// The shipped default (models/predictor-clip).
std::string default_predictor_dir();
// The shipped prompt-only predictors' metrics (clip, nima) and each one's folder
// (models/predictor-METRIC; fails naming it when absent or for another metric).
std::vector<std::string> shipped_predictor_metrics();
std::string shipped_predictor_dir(const std::string& metric);

}  // namespace catimage
