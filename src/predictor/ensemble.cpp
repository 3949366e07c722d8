#include "catimage/predictor/ensemble.hpp"

#include <cmath>
#include <filesystem>
#include <map>

#include "catimage/predictor/neural_predictor.hpp"

#include "catimage/util/error.hpp"

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
      if (!std::isnan(sims[k][i])) { sim[i] += sims[k][i]; ++n_sim[i]; }
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
  std::vector<std::unique_ptr<Predictor>> members;
  for (const auto& n : names) {
    auto m = load_predictor((fs::path(dir) / "members" / n).string());
    if (m->meta().candidates != meta.candidates)
      fail("{}/members/{}: candidates differ from the ensemble's", dir, n);
    members.push_back(std::move(m));
  }
  return std::make_unique<EnsemblePredictor>(std::move(meta), std::move(members), std::move(names), std::move(weights));
}

}  // namespace catimage
