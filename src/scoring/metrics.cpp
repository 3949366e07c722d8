#include "catimage/scoring/metrics.hpp"

#include <spdlog/fmt/fmt.h>

#include "catimage/util/error.hpp"

namespace catimage {

namespace {

void check_pairs(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.dim() != 2 || b.dim() != 2 || a.sizes() != b.sizes())
    fail("CLIP scores: expected image and text embeddings of the same (B, D) shape, got {} and {}", c10::str(a.sizes()),
         c10::str(b.sizes()));
}

}  // namespace

torch::Tensor paired_cosine(const torch::Tensor& image_embeds, const torch::Tensor& text_embeds) {
  check_pairs(image_embeds, text_embeds);
  auto i = image_embeds / image_embeds.norm(2, -1, true);
  auto t = text_embeds / text_embeds.norm(2, -1, true);
  return (i * t).sum(-1);
}

torch::Tensor clipscore(const torch::Tensor& image_embeds, const torch::Tensor& text_embeds) {
  return 100 * paired_cosine(image_embeds, text_embeds).clamp_min(0);
}

torch::Tensor pickscore(const torch::Tensor& image_embeds, const torch::Tensor& text_embeds,
                        const torch::Tensor& logit_scale) {
  return logit_scale.exp().to(image_embeds.device()) * paired_cosine(image_embeds, text_embeds);
}

const std::vector<ScoreMetricInfo>& score_metrics() {
  static const std::vector<ScoreMetricInfo> table = {
      {ScoreMetric::clipscore, "clipscore", ScorerModel::clip, true,
       "100 * max(cos(image, prompt), 0) of CLIP embeddings (torchmetrics' CLIPScore)",
       "a transformers CLIPModel folder (e.g. openai/clip-vit-large-patch14)"},
      {ScoreMetric::pickscore, "pickscore", ScorerModel::clip, true,
       "exp(logit_scale) * cos(image, prompt) (PickScore)",
       "a PickScore CLIPModel folder (yuvalkirstain/PickScore_v1 with the processor and tokenizer files)"},
      {ScoreMetric::nima, "nima", ScorerModel::nima, false,
       "NIMA's mean rating sum_i i * p_i, 1..10, of the image alone (idealo's MobileNet NIMA)",
       "a NIMA folder (config.json, model.safetensors: scripts/nima_h5_to_safetensors.py)"},
  };
  return table;
}

const ScoreMetricInfo& score_metric_info(ScoreMetric m) {
  for (const auto& i : score_metrics())
    if (i.metric == m) return i;
  fail("score metric {} is not in the registry", static_cast<int>(m));
}

const std::vector<std::string>& score_metric_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& i : score_metrics()) n.push_back(i.name);
    return n;
  }();
  return names;
}

ScoreMetric parse_score_metric(const std::string& name) {
  for (const auto& i : score_metrics())
    if (i.name == name) return i.metric;
  fail("unknown score metric \"{}\" (valid: {})", name, fmt::join(score_metric_names(), ", "));
}

std::string score_metric_name(ScoreMetric m) { return score_metric_info(m).name; }

torch::Tensor score(ScoreMetric m, const torch::Tensor& image_embeds, const torch::Tensor& text_embeds,
                    const torch::Tensor& logit_scale) {
  switch (m) {
    case ScoreMetric::clipscore: return clipscore(image_embeds, text_embeds);
    case ScoreMetric::pickscore: return pickscore(image_embeds, text_embeds, logit_scale);
    default: fail("{} is not a CLIP similarity: it has no score of image and text embeddings", score_metric_name(m));
  }
}

}  // namespace catimage
