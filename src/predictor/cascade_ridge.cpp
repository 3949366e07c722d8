#include <algorithm>
#include <cmath>
#include <filesystem>

#include <ATen/Parallel.h>

#include "catimage/io/table_split.hpp"
#include "catimage/io/atomic_file.hpp"
#include "catimage/predictor/cascade_predictor.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"
#include "catimage/util/paths.hpp"
#include "predictor/ridge.hpp"
#include "predictor/ridge_weights.hpp"
#include "predictor/tfidf.hpp"

namespace catimage {

namespace {

constexpr const char* kKind = "cascade-ridge";

double standard_score(double s, const CascadeMeta& m) {
  return std::clamp((s - m.observed_mean) / m.observed_std, -4.0, 4.0);
}

// TF-IDF row plus the two observed-score columns.
SparseRow features(const TfidfVectorizer& vec, const std::string& prompt, double z) {
  SparseRow x = vec.transform(prompt);
  x.idx.push_back(static_cast<int>(vec.size()));
  x.val.push_back(static_cast<float>(z));
  x.idx.push_back(static_cast<int>(vec.size() + 1));
  x.val.push_back(static_cast<float>((z * z - 1.0) / std::sqrt(2.0)));
  return x;
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / v.size();
}

double std_of(const std::vector<double>& v, double mean) {
  double s = 0;
  for (double x : v) s += (x - mean) * (x - mean);
  return v.size() > 1 ? std::sqrt(s / (v.size() - 1)) : 0.0;
}

std::vector<double> get_doubles(const json& j, const char* key, std::size_t n, const std::string& origin) {
  if (!j.contains(key) || !j[key].is_array() || j[key].size() != n)
    fail("{}: \"{}\" must be an array of {} numbers", origin, key, n);
  std::vector<double> v;
  for (const auto& x : j[key]) {
    if (!x.is_number()) fail("{}: \"{}\" must hold numbers", origin, key);
    v.push_back(x.get<double>());
  }
  return v;
}

}  // namespace

CascadePredictor::CascadePredictor(CascadeMeta meta, std::unique_ptr<TfidfVectorizer> vec,
                                   std::vector<std::vector<float>> w, std::vector<double> b)
    : meta_(std::move(meta)), vec_(std::move(vec)), w_(std::move(w)), b_(std::move(b)) {
  for (double& v : b_) v = static_cast<float>(v);  // stored as F32: predict as the saved copy will
}

CascadePredictor::~CascadePredictor() = default;

int CascadePredictor::first_index() const {
  for (std::size_t k = 0; k < meta_.candidates.size(); ++k)
    if (meta_.candidates[k] == meta_.first) return static_cast<int>(k);
  return -1;
}

Matrix CascadePredictor::predict_differences(const std::vector<std::string>& prompts,
                                             const std::vector<double>& observed) const {
  if (observed.size() != prompts.size())
    fail("cascade predictor: {} observed scores for {} prompts", observed.size(), prompts.size());
  const std::size_t m = meta_.candidates.size();
  const int f = first_index();
  Matrix d(prompts.size(), m);
  at::parallel_for(0, static_cast<std::int64_t>(prompts.size()), 64, [&](std::int64_t a, std::int64_t e) {
    for (std::int64_t i = a; i < e; ++i) {
      if (!std::isfinite(observed[i])) fail("cascade predictor: observed score of prompt {} is not finite", i);
      const SparseRow x = features(*vec_, prompts[i], standard_score(observed[i], meta_));
      for (std::size_t k = 0; k < m; ++k)
        d(i, k) = static_cast<int>(k) == f
                      ? 0.0
                      : meta_.diff_mean[k] + meta_.diff_std[k] * (b_[k] + sparse_dot(x, w_[k].data()));
    }
  });
  return d;
}

void CascadePredictor::save(const std::string& dir) const {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  json j = {{"kind", kKind},
            {"candidates", meta_.candidates},
            {"first", meta_.first},
            {"metric", meta_.metric},
            {"model", {{"alpha", meta_.alpha}, {"features", vec_->size() + 2}}},
            {"observed", {{"mean", meta_.observed_mean}, {"std", meta_.observed_std}}},
            {"differences", {{"mean", meta_.diff_mean}, {"std", meta_.diff_std}, {"error_std", meta_.error_std}}},
            {"training", meta_.training}};
  write_file_atomic((fs::path(dir) / "predictor.json").string(), j.dump(2) + "\n");
  write_file_atomic((fs::path(dir) / "tfidf.json").string(), vec_->to_json().dump() + "\n");
  save_ridge_weights((fs::path(dir) / "weights.safetensors").string(), {w_, b_}, kKind);
}

std::string default_cascade_predictor_dir() {
  auto p = find_resource("models/cascade-clip/predictor.json");
  if (p.empty())
    fail("the shipped cascade predictor models/cascade-clip was not found (set CATIMAGE_HOME to the catimage folder)");
  return std::filesystem::path(p).parent_path().string();
}

bool is_cascade_predictor(const std::string& dir) {
  const auto p = std::filesystem::path(dir) / "predictor.json";
  if (!std::filesystem::is_regular_file(p)) return false;
  const json j = read_json_file(p.string());
  return j.is_object() && j.contains("kind") && j["kind"] == kKind;
}

std::unique_ptr<CascadePredictor> load_cascade_predictor(const std::string& dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) fail("{}: cascade predictor folder not found", dir);
  const std::string mpath = (fs::path(dir) / "predictor.json").string();
  const json j = read_json_file(mpath);
  if (!j.is_object() || !j.contains("kind") || !j["kind"].is_string()) fail("{}: missing string key \"kind\"", mpath);
  if (j["kind"] != kKind)
    fail(
        "{}: kind \"{}\" is a prompt-only predictor; a cascade needs one trained with `catimage train --cascade "
        "FIRST` (kind \"{}\")",
        mpath, j["kind"].get<std::string>(), kKind);
  CascadeMeta m;
  try {
    m.candidates = j.at("candidates").get<std::vector<std::string>>();
    m.first = j.at("first").get<std::string>();
    m.metric = j.value("metric", std::string("unknown"));
    m.alpha = j.at("model").at("alpha").get<double>();
    m.observed_mean = j.at("observed").at("mean").get<double>();
    m.observed_std = j.at("observed").at("std").get<double>();
  } catch (const json::exception& e) {
    fail("{}: {}", mpath, e.what());
  }
  const std::size_t n = m.candidates.size();
  if (!j.contains("differences") || !j["differences"].is_object()) fail("{}: missing object \"differences\"", mpath);
  m.diff_mean = get_doubles(j["differences"], "mean", n, mpath + " differences");
  m.diff_std = get_doubles(j["differences"], "std", n, mpath + " differences");
  m.error_std = get_doubles(j["differences"], "error_std", n, mpath + " differences");
  m.training = j.value("training", json::object());
  if (!(m.observed_std > 0)) fail("{}: \"observed\".\"std\" must be > 0", mpath);
  auto vec = std::make_unique<TfidfVectorizer>();
  const std::string vpath = (fs::path(dir) / "tfidf.json").string();
  *vec = TfidfVectorizer::from_json(read_json_file(vpath), vpath);
  auto r = load_ridge_weights((fs::path(dir) / "weights.safetensors").string(), n, vec->size() + 2);
  auto p = std::make_unique<CascadePredictor>(std::move(m), std::move(vec), std::move(r.w), std::move(r.b));
  if (p->first_index() < 0) fail("{}: \"first\" ({}) is not one of its candidates", mpath, p->meta().first);
  return p;
}

std::unique_ptr<CascadePredictor> train_cascade_predictor(const QualityTable& t, const CascadeTrainRequest& r) {
  const std::size_t n = t.rows.size(), m = t.candidates.size();
  int f = -1;
  for (std::size_t k = 0; k < m; ++k)
    if (t.candidates[k] == r.first) f = static_cast<int>(k);
  if (f < 0) {
    std::string all;
    for (const auto& c : t.candidates) all += (all.empty() ? "" : ", ") + c;
    fail("{}: --cascade {}: not a candidate of the table (candidates: {})", t.source, r.first, all);
  }
  if (n < 10) fail("{}: {} rows are too few to train a cascade predictor", t.source, n);
  if (!(r.alpha > 0) || !std::isfinite(r.alpha)) fail("cascade predictor: alpha must be a positive number");
  if (r.error_folds < 2) fail("cascade predictor: error folds must be at least 2");

  CascadeMeta meta;
  meta.candidates = t.candidates;
  meta.first = r.first;
  meta.metric = r.metric;
  meta.alpha = r.alpha;
  std::vector<double> obs(n);
  for (std::size_t i = 0; i < n; ++i) obs[i] = t.rows[i].quality[f];
  meta.observed_mean = mean_of(obs);
  meta.observed_std = std_of(obs, meta.observed_mean);
  if (!(meta.observed_std > 0))
    fail("{}: {}'s quality is the same on every row: nothing to condition on", t.source, r.first);
  meta.diff_mean.assign(m, 0.0);
  meta.diff_std.assign(m, 1.0);
  meta.error_std.assign(m, 0.0);
  std::vector<std::vector<double>> y(m);  // standardised differences
  for (std::size_t k = 0; k < m; ++k) {
    if (static_cast<int>(k) == f) continue;
    std::vector<double> d(n);
    for (std::size_t i = 0; i < n; ++i) d[i] = t.rows[i].quality[k] - obs[i];
    meta.diff_mean[k] = mean_of(d);
    const double s = std_of(d, meta.diff_mean[k]);
    meta.diff_std[k] = s > 0 ? s : 1.0;
    y[k].resize(n);
    for (std::size_t i = 0; i < n; ++i) y[k][i] = (d[i] - meta.diff_mean[k]) / meta.diff_std[k];
  }

  std::vector<std::string> prompts;
  for (const auto& row : t.rows) prompts.push_back(row.prompt);
  auto vec = std::make_unique<TfidfVectorizer>();
  vec->fit(prompts, 2);
  const std::size_t nf = vec->size() + 2;
  std::vector<SparseRow> X(n);
  for (std::size_t i = 0; i < n; ++i) X[i] = features(*vec, prompts[i], standard_score(obs[i], meta));
  spdlog::info("cascade-ridge (first {}): {} features from {} prompts, alpha {}", r.first, nf, n, r.alpha);

  // Out-of-fold error of each candidate's difference, for keep-best.
  const auto folds = kfold_indices(n, std::min<int>(r.error_folds, static_cast<int>(n)), r.seed);
  std::vector<double> sq(m, 0.0);
  for (const auto& test : folds) {
    std::vector<char> held(n, 0);
    for (std::size_t i : test) held[i] = 1;
    std::vector<SparseRow> Xt;
    for (std::size_t i = 0; i < n; ++i)
      if (!held[i]) Xt.push_back(X[i]);
    for (std::size_t k = 0; k < m; ++k) {
      if (static_cast<int>(k) == f) continue;
      std::vector<double> yt;
      for (std::size_t i = 0; i < n; ++i)
        if (!held[i]) yt.push_back(y[k][i]);
      const RidgeFit fit = fit_ridge(Xt, nf, yt, r.alpha);
      for (std::size_t i : test) {
        const double e = (fit.intercept + sparse_dot(X[i], fit.w.data()) - y[k][i]) * meta.diff_std[k];
        sq[k] += e * e;
      }
    }
  }
  std::vector<std::vector<float>> w(m, std::vector<float>(nf, 0.0f));
  std::vector<double> b(m, 0.0);
  json per = json::object();
  for (std::size_t k = 0; k < m; ++k) {
    if (static_cast<int>(k) == f) continue;
    meta.error_std[k] = std::sqrt(sq[k] / n);
    RidgeFit fit = fit_ridge(X, nf, y[k], r.alpha);
    w[k] = std::move(fit.w);
    b[k] = fit.intercept;
    per[t.candidates[k]] = {
        {"difference_std", meta.diff_std[k]},
        {"out_of_fold_rmse", meta.error_std[k]},
        {"out_of_fold_r2", 1.0 - (meta.error_std[k] * meta.error_std[k]) / (meta.diff_std[k] * meta.diff_std[k])}};
    spdlog::info("  {:<24} difference std {:.4f}, out-of-fold RMSE {:.4f}", t.candidates[k], meta.diff_std[k],
                 meta.error_std[k]);
  }
  meta.training = {
      {"table", t.source}, {"table_fnv1a64", t.content_hash}, {"rows", n}, {"seed", r.seed}, {"error_folds", folds.size()}, {"candidates", per}};
  return std::make_unique<CascadePredictor>(std::move(meta), std::move(vec), std::move(w), std::move(b));
}

}  // namespace catimage
