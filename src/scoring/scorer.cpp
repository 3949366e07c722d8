#include "catimage/scoring/scorer.hpp"

#include "catimage/scoring/clip_scorer.hpp"
#include "catimage/scoring/nima_scorer.hpp"
#include "catimage/util/error.hpp"

namespace catimage {

std::unique_ptr<Scorer> load_scorer(const std::string& dir, ScoreMetric metric, torch::Device device) {
  const auto& info = score_metric_info(metric);
  // A folder of the other kind (scorers given in the wrong order) is named as such.
  if (info.model != ScorerModel::nima && is_nima_folder(dir))
    fail("{}: a NIMA folder, not a scorer of {}: {} needs {}", dir, info.name, info.name, info.folder);
  if (info.model != ScorerModel::clip && is_clip_model_folder(dir))
    fail("{}: a CLIPModel folder, not a scorer of {}: {} needs {}", dir, info.name, info.name, info.folder);
  switch (info.model) {
    case ScorerModel::clip: return std::make_unique<ClipScorer>(ClipScorer::load(dir, metric, device));
    case ScorerModel::nima: return std::make_unique<NimaScorer>(NimaScorer::load(dir, device));
  }
  return nullptr;  // not reached: every ScorerModel is a case
}

}  // namespace catimage
