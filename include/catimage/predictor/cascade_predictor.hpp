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
#include <string>
#include <vector>

#include "catimage/io/json_file.hpp"
#include "catimage/io/quality_table.hpp"
#include "catimage/util/matrix.hpp"

namespace catimage {

struct CascadeTrainRequest {
  std::string first;  // candidate name
  double alpha = 10;  // ridge penalty
  std::string metric = "unknown";
  std::uint64_t seed = 0;  // of the out-of-fold error estimate
  int error_folds = 5;     // folds of that estimate (>= 2)
};

struct CascadeMeta {
  std::vector<std::string> candidates;
  std::string first, metric;
  double alpha = 10;
  double observed_mean = 0, observed_std = 1;  // FIRST's quality on the training rows
  std::vector<double> diff_mean, diff_std;     // of q_m - q_first, per candidate (0, 1 for FIRST)
  std::vector<double> error_std;               // out-of-fold RMS error of d̂_m (0 for FIRST)
  json training = json::object();
};

class TfidfVectorizer;

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

// Trains on every row of `t` (hyper-parameters come from the request, chosen by `catimage cv
// --cascade`). Errors name the table when FIRST is not one of its candidates.
std::unique_ptr<CascadePredictor> train_cascade_predictor(const QualityTable& t, const CascadeTrainRequest& r);
std::unique_ptr<CascadePredictor> load_cascade_predictor(const std::string& dir);
// The shipped cascade predictor (models/cascade-clip: FIRST = SD-Turbo, CLIPScore).
std::string default_cascade_predictor_dir();
// True when the folder's predictor.json says kind "cascade-ridge".
bool is_cascade_predictor(const std::string& dir);

}  // namespace catimage
