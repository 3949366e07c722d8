#include "predictor/nets.hpp"

#include <cmath>

namespace catimage {

json NetConfig::to_json() const {
  return {{"vocab", vocab},     {"buckets", buckets},        {"dim", dim},
          {"hidden", hidden},   {"layers", layers},          {"heads", heads},
          {"max_len", max_len}, {"outputs", outputs},        {"dropout", dropout},
          {"stats", stats},     {"char_ngrams", char_ngrams}};
}

NetConfig NetConfig::from_json(const json& j) {
  NetConfig c;
  c.vocab = j.at("vocab");
  c.buckets = j.at("buckets");
  c.dim = j.at("dim");
  c.hidden = j.at("hidden");
  c.layers = j.at("layers");
  c.heads = j.at("heads");
  c.max_len = j.at("max_len");
  c.outputs = j.at("outputs");
  c.dropout = j.at("dropout");
  c.stats = j.value("stats", 0);
  c.char_ngrams = j.value("char_ngrams", false);
  return c;
}

BagNetImpl::BagNetImpl(const NetConfig& c) {
  embedding = register_module(
      "embedding",
      torch::nn::EmbeddingBag(torch::nn::EmbeddingBagOptions(c.vocab + c.buckets, c.dim).mode(torch::kMean)));
  proj = register_module("proj", torch::nn::Linear(c.dim + c.stats, c.hidden));
  head = register_module("head", torch::nn::Linear(c.hidden, c.outputs));
  drop = register_module("drop", torch::nn::Dropout(c.dropout));
  torch::nn::init::normal_(embedding->weight, 0.0, 0.1);
}

torch::Tensor BagNetImpl::embed(const torch::Tensor& ids, const torch::Tensor& offsets, const torch::Tensor& stats) {
  auto pooled = embedding(ids, offsets);
  return torch::gelu(proj(stats.size(1) ? torch::cat({pooled, stats}, 1) : pooled));
}

torch::Tensor BagNetImpl::head_of(const torch::Tensor& h) { return head(drop(h)); }

EncoderLayerImpl::EncoderLayerImpl(int dim, int h, double dropout) : heads(h) {
  norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  qkv = register_module("qkv", torch::nn::Linear(dim, 3 * dim));
  out = register_module("out", torch::nn::Linear(dim, dim));
  fc1 = register_module("fc1", torch::nn::Linear(dim, 4 * dim));
  fc2 = register_module("fc2", torch::nn::Linear(4 * dim, dim));
  drop = register_module("drop", torch::nn::Dropout(dropout));
}

torch::Tensor EncoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& pad_mask) {
  const auto B = x.size(0), L = x.size(1), D = x.size(2), hd = D / heads;
  auto t = qkv(norm1(x)).view({B, L, 3, heads, hd}).permute({2, 0, 3, 1, 4});  // 3,B,H,L,hd
  auto q = t[0], k = t[1], v = t[2];
  auto att = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(hd));
  att = att.masked_fill(pad_mask.view({B, 1, 1, L}), -1e9);
  auto y = torch::matmul(torch::softmax(att, -1), v).permute({0, 2, 1, 3}).reshape({B, L, D});
  auto h = x + drop(out(y));
  return h + drop(fc2(torch::gelu(fc1(norm2(h)))));
}

TransformerNetImpl::TransformerNetImpl(const NetConfig& c) {
  embedding = register_module("embedding", torch::nn::Embedding(c.vocab + 1, c.dim));
  position = register_module("position", torch::nn::Embedding(c.max_len, c.dim));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int i = 0; i < c.layers; ++i) layers->push_back(EncoderLayer(c.dim, c.heads, c.dropout));
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.dim})));
  proj = register_module("proj", torch::nn::Linear(c.dim + c.stats, c.hidden));
  head = register_module("head", torch::nn::Linear(c.hidden, c.outputs));
  drop = register_module("drop", torch::nn::Dropout(c.dropout));
  torch::nn::init::normal_(embedding->weight, 0.0, 0.05);
  torch::nn::init::normal_(position->weight, 0.0, 0.02);
}

torch::Tensor TransformerNetImpl::embed(const torch::Tensor& tokens, const torch::Tensor& pad_mask,
                                        const torch::Tensor& stats) {
  auto pos = torch::arange(tokens.size(1), tokens.options());
  auto x = embedding(tokens) + position(pos).unsqueeze(0);
  for (const auto& l : *layers) x = l->as<EncoderLayer>()->forward(x, pad_mask);
  x = norm(x);
  auto keep = (~pad_mask).unsqueeze(-1).to(x.dtype());
  auto pooled = (x * keep).sum(1) / keep.sum(1).clamp_min(1.0);
  return torch::gelu(proj(stats.size(1) ? torch::cat({pooled, stats}, 1) : pooled));
}

torch::Tensor TransformerNetImpl::head_of(const torch::Tensor& h) { return head(drop(h)); }

}  // namespace catimage
