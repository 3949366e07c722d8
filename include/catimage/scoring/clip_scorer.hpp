#pragma once
// Scores (image, prompt) pairs with a CLIP model folder as published on the Hub
// (openai/clip-vit-*, yuvalkirstain/PickScore_v1 with its processor files beside it):
// config.json + model.safetensors (the CLIPModel), preprocessor_config.json (the image
// processor), vocab.json + merges.txt (+ tokenizer_config.json / special_tokens_map.json).
#include <torch/torch.h>

#include <string>
#include <vector>

#include "catimage/scoring/clip_model.hpp"
#include "catimage/scoring/image_processor.hpp"
#include "catimage/scoring/metrics.hpp"
#include "catimage/scoring/scorer.hpp"
#include "catimage/text/clip_tokenizer.hpp"

namespace catimage {

class ClipScorer : public Scorer {
 public:
  // `metric`: clipscore or pickscore (a CLIP metric of the registry).
  static ClipScorer load(const std::string& dir, ScoreMetric metric, torch::Device device = torch::kCPU);

  // Image i (an (H, W, C) uint8 tensor) with prompt i; equal counts.
  PairScores score(const std::vector<torch::Tensor>& hwc_images, const std::vector<std::string>& prompts) override;

  ScoreMetric metric() const override { return metric_; }
  ClipModel& model() { return model_; }
  const ClipImageProcessor& processor() const { return processor_; }
  const ClipTokenizer& tokenizer() const { return tokenizer_; }

 private:
  ClipScorer(ClipModel m, ClipImageProcessor p, ClipTokenizer t, ScoreMetric metric, torch::Device device);
  ClipModel model_;
  ClipImageProcessor processor_;
  ClipTokenizer tokenizer_;
  ScoreMetric metric_;
  torch::Device device_;
};

}  // namespace catimage
