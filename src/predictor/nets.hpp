#pragma once
// libtorch modules of the neural predictors. Parameter names are the keys saved in
// weights.safetensors (e.g. "bag.embedding.weight", "bag.head.bias").
#include <torch/torch.h>

#include "catimage/io/json_file.hpp"

namespace catimage {

struct NetConfig {
  int vocab = 8000;     // sentencepiece pieces
  int buckets = 32768;  // hashed piece bi-/tri-grams (bag)
  int dim = 64;         // embedding width
  int hidden = 128;     // prompt embedding width (what kNN compares)
  int layers = 2;       // transformer
  int heads = 4;
  int max_len = 64;  // transformer: pieces kept
  int outputs = 5;   // M deviations + level
  double dropout = 0.1;
  int stats = 0;             // prompt statistics appended to the pooled embedding
  bool char_ngrams = false;  // bag: also hashed char_wb 3-5-grams
  json to_json() const;
  static NetConfig from_json(const json& j);
};

// Mean of piece and hashed piece-n-gram embeddings, with prompt statistics -> Linear -> GELU (the prompt embedding)
// -> Dropout -> Linear (outputs).
struct BagNetImpl : torch::nn::Module {
  explicit BagNetImpl(const NetConfig& c);
  torch::Tensor embed(const torch::Tensor& ids, const torch::Tensor& offsets, const torch::Tensor& stats);
  torch::Tensor head_of(const torch::Tensor& h);
  torch::nn::EmbeddingBag embedding{nullptr};
  torch::nn::Linear proj{nullptr}, head{nullptr};
  torch::nn::Dropout drop{nullptr};
};
TORCH_MODULE(BagNet);

// Piece + position embeddings -> pre-norm transformer encoder -> masked mean pool, with
// prompt statistics ->
// Linear -> GELU (the prompt embedding) -> Dropout -> Linear (outputs).
struct EncoderLayerImpl : torch::nn::Module {
  EncoderLayerImpl(int dim, int heads, double dropout);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& pad_mask);
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  torch::nn::Linear qkv{nullptr}, out{nullptr}, fc1{nullptr}, fc2{nullptr};
  torch::nn::Dropout drop{nullptr};
  int heads;
};
TORCH_MODULE(EncoderLayer);

struct TransformerNetImpl : torch::nn::Module {
  explicit TransformerNetImpl(const NetConfig& c);
  // tokens [B, L] (padding id = vocab), pad_mask [B, L] true at padding
  torch::Tensor embed(const torch::Tensor& tokens, const torch::Tensor& pad_mask, const torch::Tensor& stats);
  torch::Tensor head_of(const torch::Tensor& h);
  torch::nn::Embedding embedding{nullptr}, position{nullptr};
  torch::nn::ModuleList layers{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear proj{nullptr}, head{nullptr};
  torch::nn::Dropout drop{nullptr};
};
TORCH_MODULE(TransformerNet);

}  // namespace catimage
