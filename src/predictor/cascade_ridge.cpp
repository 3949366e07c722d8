#include <algorithm>
#include <cmath>
#include <filesystem>

#include <ATen/Parallel.h>

#include "catimage/io/atomic_file.hpp"
#include "catimage/io/table_split.hpp"
#include "catimage/predictor/cascade_predictor.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"
#include "catimage/util/paths.hpp"
#include "catimage/util/strings.hpp"
#include "predictor/cascade_ridge.hpp"
#include "predictor/ridge.hpp"
#include "predictor/ridge_weights.hpp"
#include "predictor/tfidf.hpp"

namespace catimage {

namespace {

constexpr const char* kKind = "cascade-ridge";

double standard_score(double s, const CascadeMeta& m) {
  return std::clamp((s - m.observed_mean) / m.observed_std, -4.0, 4.0);
}

// A prompt's TF-IDF row plus the two observed-score columns.
SparseRow with_score(SparseRow x, const TfidfVectorizer& vec, double z) {
  x.idx.push_back(static_cast<int>(vec.size()));
  x.val.push_back(static_cast<float>(z));
  x.idx.push_back(static_cast<int>(vec.size() + 1));
  x.val.push_back(static_cast<float>((z * z - 1.0) / std::sqrt(2.0)));
  return x;
}

std::size_t feature_count(const TfidfVectorizer& vec) { return vec.size() + 2; }

// Weighted mean and standard deviation (frequency weights: the variance divides by the total
// weight - 1); with unit weights the plain sample figures.
double mean_of(const std::vector<double>& v, const std::vector<double>& w) {
  double s = 0, t = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    s += w[i] * v[i];
    t += w[i];
  }
  return v.empty() ? 0.0 : s / t;
}

double std_of(const std::vector<double>& v, const std::vector<double>& w, double mean) {
  double s = 0, t = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    s += w[i] * (v[i] - mean) * (v[i] - mean);
    t += w[i];
  }
  return t > 1 ? std::sqrt(s / (t - 1)) : 0.0;
}

int first_index_in(const QualityTable& t, const std::string& first) {
  for (std::size_t k = 0; k < t.candidates.size(); ++k)
    if (t.candidates[k] == first) return static_cast<int>(k);
  fail("{}: --cascade {}: not a candidate of the table (candidates: {})", t.source, first, join(t.candidates, ", "));
}

// The statistics of a table the predictor standardises with (FIRST's observed quality, each
// candidate's difference), weighted by the rows' weights.
CascadeMeta table_stats(const QualityTable& t, int f, const CascadeTrainRequest& r) {
  const std::size_t n = t.rows.size(), m = t.candidates.size();
  if (n < 10) fail("{}: {} rows are too few to train a cascade predictor", t.source, n);
  if (!(r.alpha > 0) || !std::isfinite(r.alpha)) fail("cascade predictor: alpha must be a positive number");
  CascadeMeta meta;
  meta.candidates = t.candidates;
  meta.first = r.first;
  meta.metric = r.metric;
  meta.scale = metric_scale(t.quality_matrix());
  meta.alpha = r.alpha;
  std::vector<double> obs(n), w(n);
  for (std::size_t i = 0; i < n; ++i) {
    obs[i] = t.rows[i].quality[f];
    w[i] = t.rows[i].weight;
  }
  meta.observed_mean = mean_of(obs, w);
  meta.observed_std = std_of(obs, w, meta.observed_mean);
  if (!(meta.observed_std > 0))
    fail("{}: {}'s quality is the same on every row: nothing to condition on", t.source, r.first);
  meta.diff_mean.assign(m, 0.0);
  meta.diff_std.assign(m, 1.0);
  meta.error_std.assign(m, 0.0);
  for (std::size_t k = 0; k < m; ++k) {
    if (static_cast<int>(k) == f) continue;
    std::vector<double> d(n);
    for (std::size_t i = 0; i < n; ++i) d[i] = t.rows[i].quality[k] - obs[i];
    meta.diff_mean[k] = mean_of(d, w);
    const double sd = std_of(d, w, meta.diff_mean[k]);
    meta.diff_std[k] = sd > 0 ? sd : 1.0;
  }
  return meta;
}

// One candidate's ridge problem: the rows where its difference is observed, their features,
// standardised differences and weights.
struct CandidateProblem {
  std::vector<std::size_t> rows;  // into the CascadeRows
  std::vector<double> y, w;
};

CandidateProblem candidate_problem(const CascadeRows& rows, std::size_t k, const CascadeMeta& meta) {
  CandidateProblem p;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const double d = rows.diff(i, k);
    if (std::isnan(d)) continue;
    p.rows.push_back(i);
    p.y.push_back((d - meta.diff_mean[k]) / meta.diff_std[k]);
    p.w.push_back(rows.weight(i, k));
  }
  return p;
}

void check_rows(const CascadeRows& rows, std::size_t m) {
  const std::size_t n = rows.size();
  if (rows.observed.size() != n || rows.diff.rows != n || rows.weight.rows != n || rows.diff.cols != m ||
      rows.weight.cols != m)
    fail("cascade predictor: rows of inconsistent sizes ({} prompts, {} observed, {}x{} differences, {}x{} weights)", n,
         rows.observed.size(), rows.diff.rows, rows.diff.cols, rows.weight.rows, rows.weight.cols);
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(rows.observed[i])) fail("cascade predictor: observed score of row {} is not finite", i);
    for (std::size_t k = 0; k < m; ++k)
      if (!std::isnan(rows.diff(i, k)) && (!std::isfinite(rows.diff(i, k)) || !(rows.weight(i, k) > 0)))
        fail("cascade predictor: row {}, candidate {}: a difference needs a finite value and a weight > 0", i, k);
  }
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
      const SparseRow x = with_score(vec_->transform(prompts[i]), *vec_, standard_score(observed[i], meta_));
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
            {"model", {{"alpha", meta_.alpha}, {"features", feature_count(*vec_)}}},
            {"observed", {{"mean", meta_.observed_mean}, {"std", meta_.observed_std}}},
            {"differences", {{"mean", meta_.diff_mean}, {"std", meta_.diff_std}, {"error_std", meta_.error_std}}},
            {"training", meta_.training}};
  if (meta_.scale) j["metric_scale"] = metric_scale_json(*meta_.scale);
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
    if (j.at("model").value("user_domain", false))
      fail("{}: trained with a user-domain column, which cascade predictors no longer have: train it again "
           "(catimage adapt, or train --cascade)",
           mpath);
    if (j.contains("metric_scale")) m.scale = metric_scale_from_json(j.at("metric_scale"), mpath);
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
  auto r = load_ridge_weights((fs::path(dir) / "weights.safetensors").string(), n, feature_count(*vec));
  auto p = std::make_unique<CascadePredictor>(std::move(m), std::move(vec), std::move(r.w), std::move(r.b));
  if (p->first_index() < 0) fail("{}: \"first\" ({}) is not one of its candidates", mpath, p->meta().first);
  return p;
}

CascadeRows cascade_rows(const QualityTable& t, int first) {
  const std::size_t n = t.rows.size(), m = t.candidates.size();
  CascadeRows rows{{}, std::vector<double>(n), Matrix(n, m), Matrix(n, m)};
  for (std::size_t i = 0; i < n; ++i) {
    rows.prompts.push_back(t.rows[i].prompt);
    rows.observed[i] = t.rows[i].quality[first];
    for (std::size_t k = 0; k < m; ++k) {
      rows.diff(i, k) = t.rows[i].quality[k] - rows.observed[i];
      rows.weight(i, k) = t.rows[i].weight;
    }
  }
  return rows;
}

std::unique_ptr<CascadePredictor> train_cascade_predictor(const QualityTable& t, const CascadeTrainRequest& r) {
  auto vec = std::make_unique<TfidfVectorizer>();
  std::vector<std::string> prompts;
  for (const auto& row : t.rows) prompts.push_back(row.prompt);
  vec->fit(prompts, 2);
  std::vector<SparseRow> tfidf;
  tfidf.reserve(prompts.size());
  for (const auto& p : prompts) tfidf.push_back(vec->transform(p));
  return fit_cascade_predictor(std::move(vec), tfidf, t, r);
}

std::unique_ptr<CascadePredictor> fit_cascade_predictor(std::unique_ptr<TfidfVectorizer> vec,
                                                        const std::vector<SparseRow>& tfidf, const QualityTable& t,
                                                        const CascadeTrainRequest& r) {
  const std::size_t n = t.rows.size(), m = t.candidates.size();
  const int f = first_index_in(t, r.first);
  if (r.error_folds == 1 || r.error_folds < 0)
    fail("cascade predictor: error folds must be at least 2 (or 0: no out-of-fold error estimate)");
  if (tfidf.size() != n) fail("cascade predictor: {} feature rows for {} table rows", tfidf.size(), n);
  CascadeMeta meta = table_stats(t, f, r);
  const CascadeRows rows = cascade_rows(t, f);
  const std::size_t nf = feature_count(*vec);
  std::vector<SparseRow> X(n);
  for (std::size_t i = 0; i < n; ++i) X[i] = with_score(tfidf[i], *vec, standard_score(rows.observed[i], meta));
  spdlog::info("cascade-ridge (first {}): {} features from {} prompts, alpha {}", r.first, nf, n, r.alpha);

  // Out-of-fold error of each candidate's difference, for keep-best (weighted by the rows' weights).
  const auto folds = r.error_folds == 0 ? std::vector<std::vector<std::size_t>>{}
                                        : kfold_indices(n, std::min<int>(r.error_folds, static_cast<int>(n)), r.seed);
  std::vector<double> sq(m, 0.0), total(m, 0.0);
  std::vector<CandidateProblem> problems(m);
  for (std::size_t k = 0; k < m; ++k)
    if (static_cast<int>(k) != f) problems[k] = candidate_problem(rows, k, meta);  // every row: a table's
  for (const auto& test : folds) {
    std::vector<char> held(n, 0);
    for (std::size_t i : test) held[i] = 1;
    std::vector<SparseRow> Xt;
    for (std::size_t i = 0; i < n; ++i)
      if (!held[i]) Xt.push_back(X[i]);
    for (std::size_t k = 0; k < m; ++k) {
      if (static_cast<int>(k) == f) continue;
      std::vector<double> yt, wt;
      for (std::size_t i = 0; i < n; ++i)
        if (!held[i]) yt.push_back(problems[k].y[i]), wt.push_back(problems[k].w[i]);
      const RidgeFit fit = fit_ridge(Xt, nf, yt, r.alpha, wt);
      for (std::size_t i : test) {
        const double e = (fit.intercept + sparse_dot(X[i], fit.w.data()) - problems[k].y[i]) * meta.diff_std[k];
        sq[k] += problems[k].w[i] * e * e;
        total[k] += problems[k].w[i];
      }
    }
  }
  std::vector<std::vector<float>> w(m, std::vector<float>(nf, 0.0f));
  std::vector<double> b(m, 0.0);
  json per = json::object();
  for (std::size_t k = 0; k < m; ++k) {
    if (static_cast<int>(k) == f) continue;
    RidgeFit fit = fit_ridge(X, nf, problems[k].y, r.alpha, problems[k].w);
    w[k] = std::move(fit.w);
    b[k] = fit.intercept;
    per[t.candidates[k]] = {{"difference_std", meta.diff_std[k]}};
    if (folds.empty()) continue;  // no error estimate asked for: keep-best cannot price its options
    meta.error_std[k] = std::sqrt(sq[k] / total[k]);
    per[t.candidates[k]]["out_of_fold_rmse"] = meta.error_std[k];
    per[t.candidates[k]]["out_of_fold_r2"] =
        1.0 - (meta.error_std[k] * meta.error_std[k]) / (meta.diff_std[k] * meta.diff_std[k]);
    spdlog::info("  {:<24} difference std {:.4f}, out-of-fold RMSE {:.4f}", t.candidates[k], meta.diff_std[k],
                 meta.error_std[k]);
  }
  meta.training = {{"table", t.source}, {"table_fnv1a64", t.content_hash}, {"rows", n},
                   {"seed", r.seed},    {"error_folds", folds.size()},     {"candidates", per}};
  if (t.weighted()) meta.training["weighted_rows"] = true;
  return std::make_unique<CascadePredictor>(std::move(meta), std::move(vec), std::move(w), std::move(b));
}

struct CascadeRefitter::State {
  CascadeMeta meta;  // statistics of the base table; error_std as given
  int first = 0;
  TfidfVectorizer vec;
  std::size_t nf = 0;
  CascadeRows base;
  std::vector<SparseRow> X;  // the base rows' features
  std::string source, hash;
};

CascadeRefitter::CascadeRefitter(const QualityTable& base, const CascadeTrainRequest& r,
                                 const std::vector<std::string>& vocabulary_extra, std::vector<double> error_std)
    : s_(std::make_unique<State>()) {
  s_->first = first_index_in(base, r.first);
  s_->meta = table_stats(base, s_->first, r);
  if (error_std.size() != base.candidates.size())
    fail("cascade refits: {} error spreads for {} candidates", error_std.size(), base.candidates.size());
  s_->meta.error_std = std::move(error_std);
  s_->base = cascade_rows(base, s_->first);
  std::vector<std::string> vocabulary = s_->base.prompts;
  vocabulary.insert(vocabulary.end(), vocabulary_extra.begin(), vocabulary_extra.end());
  s_->vec.fit(vocabulary, 2);
  s_->nf = feature_count(s_->vec);
  s_->X.resize(s_->base.size());
  for (std::size_t i = 0; i < s_->base.size(); ++i)
    s_->X[i] =
        with_score(s_->vec.transform(s_->base.prompts[i]), s_->vec, standard_score(s_->base.observed[i], s_->meta));
  s_->source = base.source;
  s_->hash = base.content_hash;
}

CascadeRefitter::~CascadeRefitter() = default;

const std::vector<std::string>& CascadeRefitter::candidates() const { return s_->meta.candidates; }

std::unique_ptr<CascadePredictor> CascadeRefitter::fit(const CascadeRows& extra) const {
  const CascadeMeta& meta = s_->meta;
  const std::size_t m = meta.candidates.size(), nb = s_->base.size();
  check_rows(extra, m);
  std::vector<SparseRow> X = s_->X;
  for (std::size_t i = 0; i < extra.size(); ++i)
    X.push_back(with_score(s_->vec.transform(extra.prompts[i]), s_->vec, standard_score(extra.observed[i], meta)));
  std::vector<std::vector<float>> w(m, std::vector<float>(s_->nf, 0.0f));
  std::vector<double> b(m, 0.0);
  json per = json::object();
  for (std::size_t k = 0; k < m; ++k) {
    if (static_cast<int>(k) == s_->first) continue;
    CandidateProblem p = candidate_problem(s_->base, k, meta);
    const CandidateProblem e = candidate_problem(extra, k, meta);
    std::vector<SparseRow> Xk;
    Xk.reserve(p.rows.size() + e.rows.size());
    for (std::size_t i : p.rows) Xk.push_back(X[i]);
    for (std::size_t i : e.rows) Xk.push_back(X[nb + i]);
    p.y.insert(p.y.end(), e.y.begin(), e.y.end());
    p.w.insert(p.w.end(), e.w.begin(), e.w.end());
    RidgeFit fit = fit_ridge(Xk, s_->nf, p.y, meta.alpha, p.w);
    w[k] = std::move(fit.w);
    b[k] = fit.intercept;
    per[meta.candidates[k]] = {{"run_rows", e.rows.size()}};
  }
  CascadeMeta out = meta;
  out.training = {
      {"table", s_->source}, {"table_fnv1a64", s_->hash}, {"rows", nb}, {"refit", true}, {"candidates", per}};
  auto vec = std::make_unique<TfidfVectorizer>(s_->vec);
  return std::make_unique<CascadePredictor>(std::move(out), std::move(vec), std::move(w), std::move(b));
}

}  // namespace catimage
