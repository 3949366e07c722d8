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

const std::vector<std::string>& score_metric_names() {
  static const std::vector<std::string> names = {"clipscore", "pickscore"};
  return names;
}

ScoreMetric parse_score_metric(const std::string& name) {
  if (name == "clipscore") return ScoreMetric::clipscore;
  if (name == "pickscore") return ScoreMetric::pickscore;
  fail("unknown score metric \"{}\" (valid: {})", name, fmt::join(score_metric_names(), ", "));
}

std::string score_metric_name(ScoreMetric m) { return m == ScoreMetric::clipscore ? "clipscore" : "pickscore"; }

torch::Tensor score(ScoreMetric m, const torch::Tensor& image_embeds, const torch::Tensor& text_embeds,
                    const torch::Tensor& logit_scale) {
  return m == ScoreMetric::clipscore ? clipscore(image_embeds, text_embeds)
                                     : pickscore(image_embeds, text_embeds, logit_scale);
}

}  // namespace catimage
