#pragma once
// The cascade predictor's fit on features already computed (predictor/feature_space.hpp):
// tfidf[i] = vec->transform(t.rows[i].prompt), the vocabulary possibly from more prompts.
#include <memory>
#include <vector>

#include "catimage/predictor/cascade_predictor.hpp"
#include "predictor/tfidf.hpp"

namespace catimage {

std::unique_ptr<CascadePredictor> fit_cascade_predictor(std::unique_ptr<TfidfVectorizer> vec,
                                                        const std::vector<SparseRow>& tfidf, const QualityTable& t,
                                                        const CascadeTrainRequest& r);

}  // namespace catimage
