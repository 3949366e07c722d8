#pragma once
// The cascade's predictor (kind "cascade-ridge"): given a prompt and the observed quality of
// FIRST's image for it, the expected difference q_m - q_first of every other candidate.
//
// Features: the prompt's TF-IDF (as tfidf-ridge) plus the observed score standardised with the
// training table's statistics, z (clamped to [-4, 4]), and (z^2 - 1) / sqrt(2). One ridge per
// candidate on its standardised difference. The spread of each candidate's prediction error,
// measured out of fold on the training rows, prices keep-best (E[max(0, d)]).
//
// On disk: predictor.json (kind, candidates, first, metric, statistics, training summary),
// tfidf.json and weights.safetensors ("ridge.weight" [M, features + 2], "ridge.bias" [M]; FIRST's
// row is zero). It is not a prompt-only predictor: load_predictor refuses it by name.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "catimage/io/json_file.hpp"
#include "catimage/io/metric_scale.hpp"
#include "catimage/io/quality_table.hpp"
#include "catimage/util/matrix.hpp"

namespace catimage {

struct CascadeTrainRequest {
  std::string first;  // candidate name
  double alpha = 10;  // ridge penalty
  std::string metric = "unknown";
  std::uint64_t seed = 0;  // of the out-of-fold error estimate
  int error_folds = 5;     // folds of that estimate (>= 2; 0: none, error_std stays 0 — no keep-best)
};

struct CascadeMeta {
  std::vector<std::string> candidates;
  std::string first, metric;
  double alpha = 10;
  double observed_mean = 0, observed_std = 1;  // FIRST's quality on the training rows
  std::vector<double> diff_mean, diff_std;     // of q_m - q_first, per candidate (0, 1 for FIRST)
  std::vector<double> error_std;               // out-of-fold RMS error of d̂_m (0 for FIRST)
  std::optional<MetricScale> scale;  // the metric over the training table's cells ("metric_scale")
  json training = json::object();
};

class TfidfVectorizer;

// What a cascade predictor learns from: per row the prompt, FIRST's observed quality and the
// difference q_m - q_first of each candidate where it was observed — every one in a quality
// table; in a cascade run only the candidate a prompt escalated to (NaN elsewhere) — each with
// its training weight.
struct CascadeRows {
  std::vector<std::string> prompts;
  std::vector<double> observed;  // FIRST's quality
  Matrix diff;                   // rows x M (FIRST's column unused); NaN where not observed
  Matrix weight;                 // rows x M: the weight of each observed difference (> 0)

  std::size_t size() const { return prompts.size(); }
};

// Every difference of every row of `t` (weights: the rows' weights). `first`: FIRST's index.
CascadeRows cascade_rows(const QualityTable& t, int first);

class CascadePredictor {
 public:
  CascadePredictor(CascadeMeta meta, std::unique_ptr<TfidfVectorizer> vec, std::vector<std::vector<float>> w,
                   std::vector<double> b);
  ~CascadePredictor();
  const CascadeMeta& meta() const { return meta_; }
  int first_index() const;
  // Predicted q_m - q_first (prompts x M, in meta().candidates order; 0 in FIRST's column).
  Matrix predict_differences(const std::vector<std::string>& prompts, const std::vector<double>& observed) const;
  void save(const std::string& dir) const;

 private:
  CascadeMeta meta_;
  std::unique_ptr<TfidfVectorizer> vec_;
  std::vector<std::vector<float>> w_;  // per candidate, features + 2
  std::vector<double> b_;
};

// Trains on every row of `t`, weighted by the rows' weights (hyper-parameters come from the
// request, chosen by `catimage cv --cascade`). Errors name the table when FIRST is not one of
// its candidates.
std::unique_ptr<CascadePredictor> train_cascade_predictor(const QualityTable& t, const CascadeTrainRequest& r);

// Refits of a cascade predictor as labelled rows arrive (a cascade that learns while it runs,
// router/cascade_learning.hpp): what depends only on the base table is computed once — the
// TF-IDF vocabulary (fitted on the base prompts and `vocabulary_extra`, e.g. the whole batch:
// its words get features before any of its rows is labelled), the standardisation statistics
// (observed score, each difference) and the base rows' features. fit(extra) trains one ridge
// per candidate on the base rows plus `extra` (partial rows: each candidate on the rows where
// its difference is observed, with their weights), deterministically. Keep-best's error
// spreads are `error_std` (e.g. the initial predictor's, measured out of fold on the base).
// Unlike the prompt-only predictor, the cascade predictor has no user-domain feature (a column
// that is 1 on the user's rows and every prompt routed): a shift common to all of a batch's
// prompts hardly changes which of them escalate under one budget, and fitting it from a few
// hundred rows costs (`cv --adapt 0,200 --cascade SD-Turbo`, user rows weighted 3: cascade gain
// +0.475 with it, +0.490 without).
class CascadeRefitter {
 public:
  CascadeRefitter(const QualityTable& base, const CascadeTrainRequest& r,
                  const std::vector<std::string>& vocabulary_extra, std::vector<double> error_std);
  ~CascadeRefitter();
  std::unique_ptr<CascadePredictor> fit(const CascadeRows& extra) const;
  const std::vector<std::string>& candidates() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};
std::unique_ptr<CascadePredictor> load_cascade_predictor(const std::string& dir);
// The shipped cascade predictor (models/cascade-clip: FIRST = SD-Turbo, CLIPScore).
std::string default_cascade_predictor_dir();
// True when the folder's predictor.json says kind "cascade-ridge".
bool is_cascade_predictor(const std::string& dir);

}  // namespace catimage
