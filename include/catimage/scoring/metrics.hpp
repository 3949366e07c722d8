#pragma once
// Image-text alignment scores from CLIP embeddings, one per (image, prompt) pair:
//   clipscore: 100 * max(cos(image, text), 0)   (torchmetrics' CLIPScore, Hessel et al. 2021 with w = 100)
//   pickscore: exp(logit_scale) * cos(image, text)   (PickScore: the model's own scaled logit)
// Embeddings need not be normalised; rows are paired (image i with text i).
#include <torch/torch.h>

#include <string>
#include <vector>

namespace catimage {

enum class ScoreMetric { clipscore, pickscore };

// (B, D) x (B, D) -> (B): cosine similarity of row i with row i.
torch::Tensor paired_cosine(const torch::Tensor& image_embeds, const torch::Tensor& text_embeds);
torch::Tensor clipscore(const torch::Tensor& image_embeds, const torch::Tensor& text_embeds);
torch::Tensor pickscore(const torch::Tensor& image_embeds, const torch::Tensor& text_embeds,
                        const torch::Tensor& logit_scale);

// The registry: names in the order they are listed in messages.
const std::vector<std::string>& score_metric_names();
// Fails with the list of valid names for an unknown one.
ScoreMetric parse_score_metric(const std::string& name);
std::string score_metric_name(ScoreMetric m);
torch::Tensor score(ScoreMetric m, const torch::Tensor& image_embeds, const torch::Tensor& text_embeds,
                    const torch::Tensor& logit_scale);

}  // namespace catimage
