#pragma once
// The memory of a neural predictor: the normalised prompt embeddings and standardised targets
// of its training prompts. A prompt's similarity (what the confidence shrinks by) is the mean
// cosine similarity of its k nearest training prompts; the knn kind's output is the
// softmax-weighted (temperature kTemperature) mean of their targets.
#include <torch/torch.h>

namespace catimage {

class NeuralMemory {
 public:
  static constexpr double kTemperature = 0.05;

  NeuralMemory() = default;
  // embeddings [N, hidden] (L2-normalised rows), targets [N, outputs]
  NeuralMemory(torch::Tensor embeddings, torch::Tensor targets)
      : emb_(std::move(embeddings)), targets_(std::move(targets)) {}

  bool defined() const { return emb_.defined(); }
  bool empty() const { return !emb_.defined() || emb_.size(0) == 0; }
  const torch::Tensor& embeddings() const { return emb_; }
  const torch::Tensor& targets() const { return targets_; }

  // The k nearest stored prompts of each row of h (prompt embeddings, not yet normalised).
  struct Nearest {
    torch::Tensor sim, idx;  // [B, k'] cosine similarities and indices, k' = min(k, N)
  };
  Nearest nearest(const torch::Tensor& h, int k) const;
  static torch::Tensor similarity(const Nearest& n);  // [B], float64
  torch::Tensor knn(const Nearest& n) const;          // [B, outputs]

 private:
  torch::Tensor emb_, targets_;
};

// Rows scaled to unit L2 norm.
torch::Tensor normalize_rows(const torch::Tensor& h);

}  // namespace catimage
