#include "predictor/training_data.hpp"

#include <algorithm>
#include <cmath>

#include "catimage/util/error.hpp"

namespace catimage {

TargetStats compute_target_stats(const QualityTable& t) {
  TargetStats s;
  const std::size_t m = t.candidates.size();
  s.prior = t.mean_quality();
  double lv = 0, lv2 = 0, dv2 = 0, total = 0;
  for (const auto& r : t.rows) {
    double level = 0;
    for (double q : r.quality) level += q / m;
    total += r.weight;
    lv += r.weight * level;
    lv2 += r.weight * level * level;
    for (double q : r.quality) dv2 += r.weight * (q - level) * (q - level);
  }
  s.level_mean = lv / total;
  s.level_std = std::sqrt(std::max(lv2 / total - s.level_mean * s.level_mean, 1e-12));
  s.dev_std = std::sqrt(std::max(dv2 / (total * m), 1e-12));
  return s;
}

TrainingSet make_training_set(const QualityTable& t, const TargetStats& s) {
  const std::size_t m = t.candidates.size(), n = t.rows.size();
  TrainingSet ts{{}, t.quality_matrix(), Matrix(n, m + 1)};
  for (std::size_t i = 0; i < n; ++i) {
    const auto& r = t.rows[i];
    ts.prompts.push_back(r.prompt);
    ts.weights.push_back(r.weight);
    ts.user.push_back(r.user);
    double level = 0;
    for (double q : r.quality) level += q / m;
    for (std::size_t k = 0; k < m; ++k) {
      ts.targets(i, k) = (r.quality[k] - level) / s.dev_std;
    }
    ts.targets(i, m) = (level - s.level_mean) / s.level_std;
  }
  return ts;
}

ValidationScore validation_score(const TrainRequest& req, const Matrix& predicted, const TrainingSet& val,
                                 const std::vector<std::string>& names) {
  if (!req.validation) fail("internal error: training with a validation set but no validation scorer in the request");
  return req.validation(val.truth, predicted, req.costs, names);
}

ValidationScore validation_score(const TrainRequest& req, const Predictor& p, const TrainingSet& val) {
  return validation_score(req, p.predict(val.prompts), val, p.meta().candidates);
}

}  // namespace catimage
