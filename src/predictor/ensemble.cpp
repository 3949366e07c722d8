#include "predictor/ensemble.hpp"

#include <cmath>
#include <filesystem>
#include <map>

#include "catimage/predictor/trainer.hpp"
#include "catimage/util/error.hpp"
#include "predictor/confidence.hpp"
#include "predictor/neural_predictor.hpp"
#include "predictor/tfidf_ridge.hpp"
#include "predictor/training_data.hpp"

namespace catimage {

EnsemblePredictor::EnsemblePredictor(PredictorMeta meta, std::vector<std::unique_ptr<Predictor>> members,
                                     std::vector<std::string> names, std::vector<double> weights)
    : Predictor(std::move(meta)), members_(std::move(members)), names_(std::move(names)), weights_(std::move(weights)) {
  if (members_.empty()) fail("an ensemble needs at least one member");
  if (weights_.size() != members_.size()) fail("ensemble: {} weights for {} members", weights_.size(), members_.size());
  double total = 0;
  for (double w : weights_) {
    if (!(w >= 0)) fail("ensemble: negative member weight");
    total += w;
  }
  if (!(total > 0)) fail("ensemble: member weights sum to 0");
  for (double& w : weights_) w /= total;
}

void EnsemblePredictor::predict_raw(const std::vector<std::string>& prompts, Matrix& raw,
                                    std::vector<double>& sim) const {
  const std::size_t n = prompts.size();
  std::vector<Matrix> outs(members_.size());
  std::vector<std::vector<double>> sims(members_.size());
  // Neural members with the same inputs share tokenisation and features per batch.
  std::map<std::string, std::vector<std::size_t>> groups;
  for (std::size_t k = 0; k < members_.size(); ++k) {
    if (auto* nm = dynamic_cast<const NeuralPredictor*>(members_[k].get())) {
      groups[nm->input_signature()].push_back(k);
      outs[k] = Matrix(n, meta().candidates.size() + 1);
      sims[k].assign(n, NAN);
    } else {
      members_[k]->predict_raw(prompts, outs[k], sims[k]);
    }
  }
  for (const auto& [sig, ks] : groups) {
    const auto* first = static_cast<const NeuralPredictor*>(members_[ks[0]].get());
    for (std::size_t a = 0; a < n; a += NeuralPredictor::kBatch) {
      std::size_t b = std::min(n, a + NeuralPredictor::kBatch);
      auto batch = first->prepare(std::vector<std::string>(prompts.begin() + a, prompts.begin() + b));
      for (auto k : ks) static_cast<const NeuralPredictor*>(members_[k].get())->run_batch(batch, a, outs[k], sims[k]);
    }
  }
  raw = Matrix(n, meta().candidates.size() + 1);
  sim.assign(n, 0.0);
  std::vector<int> n_sim(n, 0);
  for (std::size_t k = 0; k < members_.size(); ++k) {
    for (std::size_t i = 0; i < raw.data.size(); ++i) raw.data[i] += weights_[k] * outs[k].data[i];
    for (std::size_t i = 0; i < sims[k].size(); ++i)
      if (!std::isnan(sims[k][i])) {
        sim[i] += sims[k][i];
        ++n_sim[i];
      }
  }
  for (std::size_t i = 0; i < n; ++i) sim[i] = n_sim[i] ? sim[i] / n_sim[i] : NAN;
}

void EnsemblePredictor::save(const std::string& dir) const {
  namespace fs = std::filesystem;
  for (std::size_t k = 0; k < members_.size(); ++k) members_[k]->save((fs::path(dir) / "members" / names_[k]).string());
  save_meta(dir);
}

std::unique_ptr<EnsemblePredictor> EnsemblePredictor::load(const std::string& dir, PredictorMeta meta) {
  namespace fs = std::filesystem;
  std::vector<std::string> names;
  std::vector<double> weights;
  try {
    names = meta.model.at("members").get<std::vector<std::string>>();
    weights = meta.model.at("weights").get<std::vector<double>>();
  } catch (const json::exception& e) {
    fail("{}/predictor.json: model.members: {}", dir, e.what());
  }
  // Members may be ensembles, but a member folder that leads back to an ensemble above it (a
  // symlink) would recurse until the file system gives up with ELOOP/ENAMETOOLONG: bound it.
  constexpr int kMaxNesting = 8;
  static thread_local int nesting = 0;
  struct Nest {
    Nest() { ++nesting; }
    ~Nest() { --nesting; }
  } nest;
  if (nesting > kMaxNesting)
    fail(
        "{}/predictor.json: model.members: ensembles nested more than {} deep (does a member folder lead back "
        "to an ensemble above it?)",
        dir, kMaxNesting);
  std::vector<std::unique_ptr<Predictor>> members;
  for (const auto& n : names) {
    // A member is a folder under members/: a plain name, never a path (".." would recurse).
    const bool plain =
        !n.empty() && n.size() <= 64 && n != "." && n != ".." &&
        n.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == std::string::npos;
    if (!plain)
      fail("{}/predictor.json: model.members: \"{}\" is not a plain member name (letters, digits, '.', '_', '-')", dir,
           n);
    auto m = load_predictor((fs::path(dir) / "members" / n).string());
    if (m->meta().candidates != meta.candidates) fail("{}/members/{}: candidates differ from the ensemble's", dir, n);
    members.push_back(std::move(m));
  }
  return std::make_unique<EnsemblePredictor>(std::move(meta), std::move(members), std::move(names), std::move(weights));
}

std::unique_ptr<EnsemblePredictor> train_ensemble(const TrainInput& in) {
  // The mix that validated best (see README).
  const auto& req = in.req;
  const int bags = req.hyper.value("bags", 5);
  const double ridge_weight = req.hyper.value("ridge_weight", 0.5);
  std::vector<std::unique_ptr<Predictor>> members;
  std::vector<std::string> names;
  json member_val = json::object();
  members.push_back(train_tfidf_ridge(in));
  names.push_back("tfidf-ridge");
  PredictorMeta bag_meta = in.base;
  bag_meta.kind = "bag";
  for (int b = 0; b < bags; ++b) {
    auto bag = train_neural({req, bag_meta, in.train, in.val}, kBagArch, req.seed + b);
    if (b > 0) bag->drop_memory();  // one member's memory serves the confidence
    members.push_back(std::move(bag));
    names.push_back(fmt::format("bag-{}", b + 1));
  }
  for (std::size_t k = 0; k < members.size(); ++k)
    member_val[names[k]] = validation_score(req, *members[k], in.val).summary;
  std::string tok = members.back()->meta().tokenizer_checksum;
  std::vector<double> weights = {ridge_weight};
  for (int b = 0; b < bags; ++b) weights.push_back((1 - ridge_weight) / bags);
  auto e = std::make_unique<EnsemblePredictor>(in.base, std::move(members), names, weights);
  e->mutable_meta().tokenizer_checksum = tok;
  e->mutable_meta().model = {{"members", names}, {"weights", weights}};
  e->mutable_meta().training["members_validation"] = member_val;
  e->mutable_meta().confidence = calibrate_confidence(*e, in.val, req);
  return e;
}

}  // namespace catimage
