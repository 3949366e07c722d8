#pragma once
// The ensemble kind: the weighted mean of its members' standardised outputs (all members are trained
// on the same table, so they share target statistics). Members live in members/<name>/.
// Similarity for the confidence is the mean over members that have one.
#include <memory>
#include <vector>

#include "catimage/predictor/predictor.hpp"
#include "catimage/predictor/registry.hpp"

namespace catimage {

class EnsemblePredictor : public Predictor {
 public:
  EnsemblePredictor(PredictorMeta meta, std::vector<std::unique_ptr<Predictor>> members, std::vector<std::string> names,
                    std::vector<double> weights);
  static std::unique_ptr<EnsemblePredictor> load(const std::string& dir, PredictorMeta meta);
  void predict_raw(const std::vector<std::string>& prompts, Matrix& raw, std::vector<double>& sim) const override;
  void save(const std::string& dir) const override;
  std::size_t size() const { return members_.size(); }

 private:
  std::vector<std::unique_ptr<Predictor>> members_;
  std::vector<std::string> names_;
  std::vector<double> weights_;  // sum to 1
};

// The TF-IDF ridge (hyper "ridge_weight", default half the weight) plus hyper "bags" (default 5)
// bag nets with seeds seed, seed + 1, ... (the rest, shared equally).
std::unique_ptr<EnsemblePredictor> train_ensemble(const TrainInput& in);

}  // namespace catimage
