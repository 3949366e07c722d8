#pragma once
// The registry of image scores catimage computes (one row per metric: its name, the model folder
// its scorer loads, whether it reads the prompt, its definition for help texts), and the
// image-text alignment scores from CLIP embeddings, one per (image, prompt) pair:
//   clipscore: 100 * max(cos(image, text), 0)   (torchmetrics' CLIPScore, Hessel et al. 2021 with w = 100)
//   pickscore: exp(logit_scale) * cos(image, text)   (PickScore: the model's own scaled logit)
// Embeddings need not be normalised; rows are paired (image i with text i). NIMA's score of an
// image alone is the NIMA model's (nima_model.hpp).
#include <torch/torch.h>

#include <string>
#include <vector>

namespace catimage {

enum class ScoreMetric { clipscore, pickscore, nima };

// The model folder a metric's scorer loads.
enum class ScorerModel { clip, nima };

struct ScoreMetricInfo {
  ScoreMetric metric;
  std::string name;
  ScorerModel model;
  bool uses_prompt;        // false: the image alone is scored
  std::string definition;  // one line, for help texts
  std::string folder;      // the scorer folder it needs, for help texts and errors
};

// The registry, in the order metrics are listed in messages.
const std::vector<ScoreMetricInfo>& score_metrics();
const ScoreMetricInfo& score_metric_info(ScoreMetric m);
const std::vector<std::string>& score_metric_names();
// Fails with the list of valid names for an unknown one.
ScoreMetric parse_score_metric(const std::string& name);
std::string score_metric_name(ScoreMetric m);

// (B, D) x (B, D) -> (B): cosine similarity of row i with row i.
torch::Tensor paired_cosine(const torch::Tensor& image_embeds, const torch::Tensor& text_embeds);
torch::Tensor clipscore(const torch::Tensor& image_embeds, const torch::Tensor& text_embeds);
torch::Tensor pickscore(const torch::Tensor& image_embeds, const torch::Tensor& text_embeds,
                        const torch::Tensor& logit_scale);
// A CLIP metric's score of paired embeddings; fails for a metric that is not a CLIP similarity.
torch::Tensor score(ScoreMetric m, const torch::Tensor& image_embeds, const torch::Tensor& text_embeds,
                    const torch::Tensor& logit_scale);

}  // namespace catimage
