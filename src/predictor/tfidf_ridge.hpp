#pragma once
// Baseline predictor: TF-IDF (word 1-2-grams + char_wb 2-5-grams) and one ridge regression
// per output (each candidate's deviation and the level), alpha chosen on validation.
#include "catimage/predictor/predictor.hpp"
#include "catimage/predictor/registry.hpp"
#include "predictor/tfidf.hpp"

namespace catimage {

class TfidfRidgePredictor : public Predictor {
 public:
  TfidfRidgePredictor(PredictorMeta meta, TfidfVectorizer vec, std::vector<std::vector<float>> w,
                      std::vector<double> b);
  static std::unique_ptr<TfidfRidgePredictor> load(const std::string& dir, PredictorMeta meta);
  void predict_raw(const std::vector<std::string>& prompts, Matrix& raw, std::vector<double>& sim) const override;
  void save(const std::string& dir) const override;

 private:
  TfidfVectorizer vec_;
  std::vector<std::vector<float>> w_;  // per output
  std::vector<double> b_;
  std::vector<float> wt_;  // the same weights feature-major ([feature][output]): one pass per row
  bool domain_ = false;    // one more weight per output: the user-domain feature's (training_data.hpp)
};

// Fits one ridge per output for each alpha in {1, 3, 10, 30, 100}; keeps the best on validation.
// The kind recorded is tfidf-ridge whatever in.base.kind says (the ensemble trains one as a member).
std::unique_ptr<TfidfRidgePredictor> train_tfidf_ridge(const TrainInput& in);

// One alpha on features already computed: X[i] = vec.transform(in.train.prompts[i]) (the
// vocabulary may come from more prompts than the training rows': predictor/feature_space.hpp).
std::unique_ptr<TfidfRidgePredictor> fit_tfidf_ridge(const TfidfVectorizer& vec, const std::vector<SparseRow>& X,
                                                     const TrainInput& in, double alpha);

// --hyper's "alpha" (it must hold one), checked: a finite number > 0.
double tfidf_ridge_alpha(const json& hyper);

}  // namespace catimage
