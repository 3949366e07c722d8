#pragma once
// A TF-IDF feature space fitted once on a set of prompts, with every one of those prompts'
// features computed once: for training many predictors on overlapping rows of the same prompts
// (the cross-validation of a user's rows' weight, eval/user_weight.hpp), where fitting the
// vocabulary and transforming the prompts again for every fit would take most of the time.
// A predictor trained here is the one train_predictor / train_cascade_predictor would train on
// the same rows, except that its vocabulary comes from all of the space's prompts.
#include <memory>
#include <string>
#include <vector>

#include "catimage/io/quality_table.hpp"
#include "catimage/predictor/cascade_predictor.hpp"
#include "catimage/predictor/predictor.hpp"
#include "catimage/predictor/trainer.hpp"

namespace catimage {

class FeatureSpace {
 public:
  explicit FeatureSpace(const std::vector<std::string>& prompts);  // default n-grams, min_df 2
  ~FeatureSpace();
  FeatureSpace(const FeatureSpace&) = delete;
  FeatureSpace& operator=(const FeatureSpace&) = delete;

  // tfidf-ridge at the request's --hyper alpha on every row of `t` (weighted; no validation).
  // Every row's prompt must be one of the space's prompts (fails naming the first that is not).
  std::unique_ptr<Predictor> train_prompt_only(const QualityTable& t, const TrainRequest& r) const;
  std::unique_ptr<CascadePredictor> train_cascade(const QualityTable& t, const CascadeTrainRequest& r) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace catimage
