#include "predictor/neural_predictor.hpp"

#include <algorithm>
#include <cmath>

#include <ATen/Parallel.h>

#include "catimage/util/error.hpp"
#include "catimage/util/strings.hpp"
#include "predictor/tensor_matrix.hpp"
#include "predictor/text_features.hpp"

namespace catimage {

NeuralPredictor::NeuralPredictor(PredictorMeta meta, NeuralArch arch, NetConfig cfg,
                                 std::shared_ptr<SentencePieceTokenizer> tok)
    : Predictor(std::move(meta)), arch_(arch), cfg_(cfg), tok_(std::move(tok)) {
  if (arch_.bag) bag = BagNet(cfg_);
  if (arch_.transformer) transformer = TransformerNet(cfg_);
}

std::vector<NeuralPredictor::Encoded> NeuralPredictor::tokenize(const std::vector<std::string>& prompts) const {
  std::vector<Encoded> out(prompts.size());
  at::parallel_for(0, static_cast<std::int64_t>(prompts.size()), 64, [&](std::int64_t a, std::int64_t b) {
    for (std::int64_t i = a; i < b; ++i) {
      out[i].norm = normalize_prompt(prompts[i]);
      out[i].pieces = tok_->encode(out[i].norm);
    }
  });
  return out;
}

torch::Tensor NeuralPredictor::prompt_stats(const std::vector<Encoded>& es) const {
  auto t = torch::zeros({(long)es.size(), (long)cfg_.stats});
  if (cfg_.stats == 0) return t;
  auto a = t.accessor<float, 2>();
  static const int edges[] = {3, 5, 8, 12, 20, 30, 45, 60};
  for (std::size_t i = 0; i < es.size(); ++i) {
    const auto& e = es[i];
    // e.norm's only white space is single spaces (normalize_prompt).
    const int words = static_cast<int>(count_words(e.norm));
    const auto commas = std::count(e.norm.begin(), e.norm.end(), ',');
    a[i][0] = std::log1p(words) / 4.f;
    a[i][1] = std::log1p(e.norm.size()) / 6.f;
    a[i][2] = std::log1p(commas) / 3.f;
    a[i][3] = std::log1p(e.pieces.size()) / 5.f;
    int bin = 0;
    while (bin < 8 && words > edges[bin]) ++bin;
    a[i][4 + bin] = 1.f;
  }
  return t;
}

NeuralPredictor::BagInput NeuralPredictor::bag_input(const std::vector<Encoded>& es) const {
  std::vector<std::vector<long>> per(es.size());
  at::parallel_for(0, static_cast<std::int64_t>(es.size()), 64, [&](std::int64_t a, std::int64_t b) {
    for (std::int64_t k = a; k < b; ++k) {
      const auto& p = es[k].pieces;
      auto& ids = per[k];
      const int n = static_cast<int>(p.size());
      for (int id : p) ids.push_back(id);
      for (int len = 2; len <= 3; ++len)
        for (int i = 0; i + len <= n; ++i)
          ids.push_back(cfg_.vocab + static_cast<long>(hash_ids(p.data() + i, len, len) % cfg_.buckets));
      if (cfg_.char_ngrams)
        for_each_char_wb_ngram(es[k].norm, 3, 5, [&](std::string_view g) {
          ids.push_back(cfg_.vocab + static_cast<long>(hash64(g) % cfg_.buckets));
        });
    }
  });
  std::vector<long> ids, offsets;
  for (const auto& v : per) {
    offsets.push_back(static_cast<long>(ids.size()));
    ids.insert(ids.end(), v.begin(), v.end());
  }
  return {torch::tensor(ids, torch::kLong), torch::tensor(offsets, torch::kLong), prompt_stats(es)};
}

NeuralPredictor::SeqInput NeuralPredictor::seq_input(const std::vector<Encoded>& es) const {
  long L = 1;
  for (const auto& e : es) L = std::max<long>(L, std::min<long>(e.pieces.size(), cfg_.max_len));
  auto tokens = torch::full({(long)es.size(), L}, (long)cfg_.vocab, torch::kLong);
  auto acc = tokens.accessor<long, 2>();
  for (std::size_t i = 0; i < es.size(); ++i)
    for (long j = 0; j < std::min<long>(es[i].pieces.size(), L); ++j) acc[i][j] = es[i].pieces[j];
  return {tokens, tokens.eq(cfg_.vocab), prompt_stats(es)};
}

std::string NeuralPredictor::input_signature() const {
  return fmt::format("{}|{}|{}|{}|{}|{}|{}", tok_->checksum(), cfg_.vocab, cfg_.buckets, cfg_.char_ngrams, cfg_.stats,
                     arch_.bag, arch_.transformer ? cfg_.max_len : -1);
}

NeuralPredictor::Batch NeuralPredictor::prepare(const std::vector<std::string>& prompts) const {
  auto enc = tokenize(prompts);
  Batch b;
  b.size = prompts.size();
  if (arch_.bag) b.bag = bag_input(enc);
  if (arch_.transformer) b.seq = seq_input(enc);
  return b;
}

void NeuralPredictor::run_batch(const Batch& in, std::size_t at, Matrix& raw, std::vector<double>& sim) const {
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> heads;
  torch::Tensor mem;
  if (arch_.bag) {
    bag->eval();
    auto h = bag->embed(in.bag.ids, in.bag.offsets, in.bag.stats);
    mem = h;
    if (!arch_.knn) heads.push_back(bag->head_of(h));
  }
  if (arch_.transformer) {
    transformer->eval();
    auto h = transformer->embed(in.seq.tokens, in.seq.pad_mask, in.seq.stats);
    if (!mem.defined()) mem = h;
    heads.push_back(transformer->head_of(h));
  }
  if (!memory_.empty()) {
    auto near = memory_.nearest(mem, k);
    auto simv = NeuralMemory::similarity(near);
    std::copy(simv.data_ptr<double>(), simv.data_ptr<double>() + in.size, sim.begin() + at);
    if (arch_.knn) heads.push_back(memory_.knn(near));
  }
  if (heads.empty()) fail("predictor of kind {} has no memory (kNN) saved", meta().kind);
  auto m = to_matrix(torch::stack(heads, 0).mean(0));
  std::copy(m.data.begin(), m.data.end(), raw.data.begin() + at * cfg_.outputs);
}

void NeuralPredictor::predict_raw(const std::vector<std::string>& prompts, Matrix& raw,
                                  std::vector<double>& sim) const {
  raw = Matrix(prompts.size(), cfg_.outputs);
  sim.assign(prompts.size(), NAN);
  for (std::size_t a = 0; a < prompts.size(); a += kBatch) {
    std::size_t b = std::min(prompts.size(), a + kBatch);
    run_batch(prepare(std::vector<std::string>(prompts.begin() + a, prompts.begin() + b)), a, raw, sim);
  }
}

}  // namespace catimage
