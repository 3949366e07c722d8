#include "predictor/tfidf_ridge.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <ATen/Parallel.h>

#include "catimage/io/atomic_file.hpp"
#include "catimage/predictor/trainer.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"
#include "predictor/ridge.hpp"
#include "predictor/ridge_weights.hpp"
#include "predictor/training_data.hpp"

namespace catimage {

TfidfRidgePredictor::TfidfRidgePredictor(PredictorMeta meta, TfidfVectorizer vec, std::vector<std::vector<float>> w,
                                         std::vector<double> b)
    : Predictor(std::move(meta)), vec_(std::move(vec)), w_(std::move(w)), b_(std::move(b)) {
  // The intercepts are stored as F32: held so from the start, a trained predictor predicts
  // exactly what its saved copy does.
  for (double& v : b_) v = static_cast<float>(v);
  const std::size_t no = w_.size(), nf = no ? w_[0].size() : vec_.size();
  domain_ = nf > vec_.size();
  wt_.resize(nf * no);
  for (std::size_t o = 0; o < no; ++o)
    for (std::size_t f = 0; f < nf; ++f) wt_[f * no + o] = w_[o][f];
}

void TfidfRidgePredictor::predict_raw(const std::vector<std::string>& prompts, Matrix& raw,
                                      std::vector<double>& sim) const {
  raw = Matrix(prompts.size(), w_.size());
  sim.clear();
  const std::size_t no = w_.size();
  at::parallel_for(0, static_cast<std::int64_t>(prompts.size()), 64, [&](std::int64_t a, std::int64_t b) {
    std::vector<double> acc(no);
    for (std::int64_t i = a; i < b; ++i) {
      const auto x = vec_.transform(prompts[i]);
      std::fill(acc.begin(), acc.end(), 0.0);
      if (domain_)  // a user-domain predictor serves the user's prompts: their domain feature is 1
        for (std::size_t o = 0; o < no; ++o) acc[o] = wt_[vec_.size() * no + o];
      for (std::size_t k = 0; k < x.idx.size(); ++k) {
        const float* w = wt_.data() + static_cast<std::size_t>(x.idx[k]) * no;
        const double v = x.val[k];
        for (std::size_t o = 0; o < no; ++o) acc[o] += v * w[o];
      }
      for (std::size_t o = 0; o < no; ++o) raw(i, o) = b_[o] + acc[o];
    }
  });
}

void TfidfRidgePredictor::save(const std::string& dir) const {
  namespace fs = std::filesystem;
  save_meta(dir);
  write_file_atomic((fs::path(dir) / "tfidf.json").string(), vec_.to_json().dump() + "\n");
  save_ridge_weights((fs::path(dir) / "weights.safetensors").string(), {w_, b_}, "tfidf-ridge");
}

std::unique_ptr<TfidfRidgePredictor> TfidfRidgePredictor::load(const std::string& dir, PredictorMeta meta) {
  namespace fs = std::filesystem;
  auto vpath = (fs::path(dir) / "tfidf.json").string();
  auto vec = TfidfVectorizer::from_json(read_json_file(vpath), vpath);
  const std::size_t no = meta.candidates.size() + 1;
  const bool domain = meta.model.is_object() && meta.model.value("user_domain", false);
  auto r = load_ridge_weights((fs::path(dir) / "weights.safetensors").string(), no, vec.size() + domain);
  return std::make_unique<TfidfRidgePredictor>(std::move(meta), std::move(vec), std::move(r.w), std::move(r.b));
}

std::unique_ptr<TfidfRidgePredictor> fit_tfidf_ridge(const TfidfVectorizer& vec, const std::vector<SparseRow>& X,
                                                     const TrainInput& in, double alpha) {
  const auto& train = in.train;
  const std::size_t no = train.targets.cols;
  // With rows of the user's own prompts, one more feature: 1 on those rows (and on every prompt
  // the predictor will be asked about), 0 on the base rows; its weight is the user distribution's
  // shift of each output, learnt from the user's rows alone.
  const bool domain = std::find(train.user.begin(), train.user.end(), 1) != train.user.end();
  std::vector<SparseRow> with_domain;
  if (domain) {
    with_domain = X;
    for (std::size_t i = 0; i < X.size(); ++i)
      if (train.user[i]) with_domain[i].idx.push_back(static_cast<int>(vec.size())), with_domain[i].val.push_back(1.0f);
  }
  std::vector<std::vector<float>> w(no);
  std::vector<double> b(no);
  for (std::size_t o = 0; o < no; ++o) {
    std::vector<double> y(train.prompts.size());
    for (std::size_t i = 0; i < y.size(); ++i) y[i] = train.targets(i, o);
    auto fit = fit_ridge(domain ? with_domain : X, vec.size() + domain, y, alpha, train.weights);
    w[o] = std::move(fit.w);
    b[o] = fit.intercept;
  }
  const TfidfOptions topt = TfidfOptions::from_hyper(in.req.hyper);
  PredictorMeta meta = in.base;
  meta.kind = "tfidf-ridge";
  meta.tokenizer_checksum.clear();
  meta.model = {{"alpha", alpha},
                {"features", vec.size()},
                {"min_df", 2},
                {"word_ngrams", {topt.word_lo, topt.word_hi}},
                {"char_ngrams", {topt.char_lo, topt.char_hi}},
                {"style", topt.style}};
  if (domain) meta.model["user_domain"] = true;
  return std::make_unique<TfidfRidgePredictor>(meta, vec, std::move(w), std::move(b));
}

std::unique_ptr<TfidfRidgePredictor> train_tfidf_ridge(const TrainInput& in) {
  const auto& train = in.train;
  TfidfVectorizer vec;
  const TfidfOptions topt = TfidfOptions::from_hyper(in.req.hyper);
  vec.fit(train.prompts, 2, topt);
  std::vector<SparseRow> X;
  X.reserve(train.prompts.size());
  for (const auto& p : train.prompts) X.push_back(vec.transform(p));
  spdlog::info("tfidf-ridge: {} features from {} prompts", vec.size(), X.size());
  // alpha: the request's --hyper {"alpha": A} (chosen by cross-validation; required when there is
  // no validation set), else the best of a grid on the validation set.
  std::vector<double> grid = {1.0, 3.0, 10.0, 30.0, 100.0};
  if (in.req.hyper.contains("alpha")) grid = {tfidf_ridge_alpha(in.req.hyper)};
  const bool no_val = in.val.prompts.empty();
  if (no_val && grid.size() != 1)
    fail(
        "tfidf-ridge on every row (no validation set) needs a fixed --hyper '{{\"alpha\": A}}' (choose it with "
        "`catimage cv`)");
  std::unique_ptr<TfidfRidgePredictor> best;
  double best_score = -1e300, best_alpha = 0;
  json tried = json::array();
  for (double alpha : grid) {
    auto p = fit_tfidf_ridge(vec, X, in, alpha);
    const double s = no_val ? 0.0 : validation_score(in.req, *p, in.val).score;
    if (!no_val) spdlog::info("  alpha {:<5} validation AIQ {:.4f}", alpha, s);
    tried.push_back({{"alpha", alpha}, {"val_aiq", no_val ? json(nullptr) : json(s)}});
    if (s > best_score) {
      best_score = s;
      best_alpha = alpha;
      best = std::move(p);
    }
  }
  best->mutable_meta().training["alpha_search"] = tried;
  spdlog::info("tfidf-ridge: alpha {} chosen", best_alpha);
  return best;
}

double tfidf_ridge_alpha(const json& hyper) {
  const json& a = hyper.at("alpha");
  if (!a.is_number() || !(a.get<double>() > 0) || !std::isfinite(a.get<double>()))
    fail("--hyper: tfidf-ridge \"alpha\" must be a positive number, got {}", a.dump());
  return a.get<double>();
}

}  // namespace catimage
