#include "catimage/predictor/feature_space.hpp"

#include <unordered_map>

#include "catimage/util/error.hpp"
#include "predictor/cascade_ridge.hpp"
#include "predictor/tfidf.hpp"
#include "predictor/tfidf_ridge.hpp"
#include "predictor/training_data.hpp"

namespace catimage {

struct FeatureSpace::Impl {
  TfidfVectorizer vec;
  std::unordered_map<std::string, std::size_t> row;  // prompt -> its features
  std::vector<SparseRow> X;

  std::vector<SparseRow> rows_of(const QualityTable& t) const {
    std::vector<SparseRow> out;
    out.reserve(t.rows.size());
    for (const auto& r : t.rows) {
      auto it = row.find(r.prompt);
      if (it == row.end()) fail("{}:{}: a prompt outside the feature space (\"{}\")", t.source, r.line, r.prompt);
      out.push_back(X[it->second]);
    }
    return out;
  }
};

FeatureSpace::FeatureSpace(const std::vector<std::string>& prompts) : impl_(std::make_unique<Impl>()) {
  impl_->vec.fit(prompts, 2);
  for (const auto& p : prompts)
    if (impl_->row.emplace(p, impl_->X.size()).second) impl_->X.push_back(impl_->vec.transform(p));
}

FeatureSpace::~FeatureSpace() = default;

std::unique_ptr<Predictor> FeatureSpace::train_prompt_only(const QualityTable& t, const TrainRequest& r) const {
  if (r.kind != "tfidf-ridge") fail("a feature space trains tfidf-ridge, not {}", r.kind);
  for (auto it = r.hyper.begin(); it != r.hyper.end(); ++it)
    if (it.key() != "alpha")
      fail("a feature space has the default TF-IDF features: --hyper \"{}\" is not for it", it.key());
  const double alpha = tfidf_ridge_alpha(r.hyper);
  const PredictorMeta meta = training_meta(r, t);
  const TrainingSet train = make_training_set(t, meta.stats);
  const TrainingSet none;
  auto p = fit_tfidf_ridge(impl_->vec, impl_->rows_of(t), {r, meta, train, none}, alpha);
  QualityTable no_val;
  record_training(*p, r, t, no_val, train.prompts, 0);
  return p;
}

std::unique_ptr<CascadePredictor> FeatureSpace::train_cascade(const QualityTable& t,
                                                              const CascadeTrainRequest& r) const {
  return fit_cascade_predictor(std::make_unique<TfidfVectorizer>(impl_->vec), impl_->rows_of(t), t, r);
}

}  // namespace catimage
