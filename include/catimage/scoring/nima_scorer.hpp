#pragma once
// Scores images with a NIMA folder (nima_model.hpp): each image prepared as idealo's predict path
// prepares it (keras_image.hpp: nearest resize to image_size^2, x / 127.5 - 1), the score the mean
// rating sum_i i * p_i. The prompt is not read.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "catimage/scoring/nima_model.hpp"
#include "catimage/scoring/scorer.hpp"

namespace catimage {

class NimaScorer : public Scorer {
 public:
  static NimaScorer load(const std::string& dir, torch::Device device = torch::kCPU);

  // The prompts are not read (a NIMA score is the image's alone); their count must match.
  PairScores score(const std::vector<torch::Tensor>& hwc_images, const std::vector<std::string>& prompts) override;
  ScoreMetric metric() const override { return ScoreMetric::nima; }

  // (H, W, C) uint8 images -> the model's output.
  NimaOutput run(const std::vector<torch::Tensor>& hwc_images);
  // (H, W, C) uint8 images -> (B, 3, S, S) pixel values.
  torch::Tensor pixel_values(const std::vector<torch::Tensor>& hwc_images) const;
  NimaModel& model() { return model_; }

 private:
  NimaScorer(NimaModel m, torch::Device device);
  NimaModel model_;
  torch::Device device_;
};

}  // namespace catimage
