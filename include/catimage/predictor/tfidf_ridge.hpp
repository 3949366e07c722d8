#pragma once
// Baseline predictor: TF-IDF (word 1-2-grams + char_wb 2-5-grams) and one ridge regression
// per output (each candidate's deviation and the level), alpha chosen on validation.
#include "catimage/predictor/predictor.hpp"
#include "catimage/predictor/tfidf.hpp"

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
};

struct TrainingSet;
std::unique_ptr<TfidfRidgePredictor> train_tfidf_ridge(const PredictorMeta& base, const TrainingSet& train,
                                                       const TrainingSet& val, const std::vector<double>& costs);

}  // namespace catimage
