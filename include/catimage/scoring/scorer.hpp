#pragma once
// An image scorer: one metric of the registry (metrics.hpp) with the model its folder holds.
// CLIP metrics score an image against its prompt (clip_scorer.hpp), NIMA the image alone
// (nima_scorer.hpp); batch jobs hold them as Scorers.
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "catimage/scoring/metrics.hpp"

namespace catimage {

struct PairScores {
  std::vector<double> scores;   // one per pair
  std::vector<bool> truncated;  // per prompt: cut to the tokenizer's 77 tokens (false where prompts are not read)
  std::size_t truncated_count = 0;
};

class Scorer {
 public:
  virtual ~Scorer() = default;
  // Image i (an (H, W, C) uint8 tensor) with prompt i; equal counts. A metric that scores the
  // image alone does not read the prompts.
  virtual PairScores score(const std::vector<torch::Tensor>& hwc_images, const std::vector<std::string>& prompts) = 0;
  virtual ScoreMetric metric() const = 0;
};

// The scorer of `metric` from its folder (the registry's ScorerModel says which kind), in eval
// mode on `device`; fails naming the folder's files.
std::unique_ptr<Scorer> load_scorer(const std::string& dir, ScoreMetric metric, torch::Device device = torch::kCPU);

}  // namespace catimage
