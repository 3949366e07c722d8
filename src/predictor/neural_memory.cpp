#include "predictor/neural_memory.hpp"

#include <algorithm>

#include "predictor/neural_predictor.hpp"
#include "predictor/tensor_matrix.hpp"

namespace catimage {

torch::Tensor normalize_rows(const torch::Tensor& h) {
  return torch::nn::functional::normalize(h, torch::nn::functional::NormalizeFuncOptions().dim(1));
}

NeuralMemory::Nearest NeuralMemory::nearest(const torch::Tensor& h, int k) const {
  auto s = torch::matmul(normalize_rows(h), emb_.t());
  auto top = s.topk(std::min<long>(k, emb_.size(0)), 1);
  return {std::get<0>(top), std::get<1>(top)};
}

torch::Tensor NeuralMemory::similarity(const Nearest& n) { return n.sim.mean(1).to(torch::kFloat64).contiguous(); }

torch::Tensor NeuralMemory::knn(const Nearest& n) const {
  auto w = torch::softmax(n.sim / kTemperature, 1);  // [B, k]
  auto t = targets_.index_select(0, n.idx.reshape({-1})).view({n.idx.size(0), n.idx.size(1), targets_.size(1)});
  return (w.unsqueeze(-1) * t).sum(1);
}

torch::Tensor NeuralPredictor::memory_embedding(const std::vector<std::string>& prompts) const {
  torch::NoGradGuard ng;
  auto pieces = tokenize(prompts);
  if (arch_.bag) {
    bag->eval();
    auto in = bag_input(pieces);
    return normalize_rows(bag->embed(in.ids, in.offsets, in.stats));
  }
  transformer->eval();
  auto in = seq_input(pieces);
  return normalize_rows(transformer->embed(in.tokens, in.pad_mask, in.stats));
}

void NeuralPredictor::set_memory(const std::vector<std::string>& prompts, const Matrix& targets) {
  std::vector<torch::Tensor> parts;
  for (std::size_t a = 0; a < prompts.size(); a += kBatch) {
    std::vector<std::string> chunk(prompts.begin() + a, prompts.begin() + std::min(prompts.size(), a + kBatch));
    parts.push_back(memory_embedding(chunk));
  }
  memory_ = NeuralMemory(torch::cat(parts, 0), to_tensor(targets));
}

}  // namespace catimage
