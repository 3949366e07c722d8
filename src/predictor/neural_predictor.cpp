#include "catimage/predictor/neural_predictor.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>
#include <chrono>
#include <filesystem>
#include <numeric>
#include <random>

#include <ATen/Parallel.h>

#include "catimage/io/safetensors.hpp"
#include "catimage/io/weights.hpp"
#include "catimage/predictor/text_features.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"
#include "catimage/util/progress.hpp"

namespace catimage {

namespace {

constexpr double kKnnTemperature = 0.05;

torch::Tensor to_tensor(const Matrix& m) {
  std::vector<float> v(m.data.begin(), m.data.end());
  return torch::from_blob(v.data(), {(long)m.rows, (long)m.cols}, torch::kFloat32).clone();
}

Matrix to_matrix(const torch::Tensor& t) {
  auto c = t.to(torch::kFloat64).contiguous();
  Matrix m(c.size(0), c.size(1));
  std::memcpy(m.data.data(), c.data_ptr<double>(), m.data.size() * sizeof(double));
  return m;
}

// Large tables (embeddings, kNN memory) are stored as F16: half the size, and their
// rounding (~1e-3 relative) is far below the predictors' error.
TensorBlob blob_of(const std::string& name, const torch::Tensor& t, bool half = false) {
  TensorBlob b{name, half ? DType::F16 : DType::F32, {}, {}};
  auto c = t.detach().to(half ? torch::kFloat16 : torch::kFloat32).contiguous();
  for (auto d : c.sizes()) b.shape.push_back(d);
  b.bytes.resize(c.numel() * c.element_size());
  std::memcpy(b.bytes.data(), c.data_ptr(), b.bytes.size());
  return b;
}

bool is_table(const std::string& key) { return key.find("embedding.weight") != std::string::npos; }

}  // namespace

NeuralPredictor::NeuralPredictor(PredictorMeta meta, NetConfig cfg, std::shared_ptr<SentencePieceTokenizer> tok)
    : Predictor(std::move(meta)), cfg_(cfg), tok_(std::move(tok)) {
  if (uses_bag()) bag = BagNet(cfg_);
  if (uses_transformer()) transformer = TransformerNet(cfg_);
}

bool NeuralPredictor::uses_bag() const { return meta().kind != "transformer"; }
bool NeuralPredictor::uses_transformer() const { return meta().kind == "transformer"; }

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
    int words = 0, commas = 0;
    bool in = false;
    for (char c : e.norm) {
      if (c == ',') ++commas;
      bool sp = c == ' ';
      if (!sp && !in) ++words;
      in = !sp;
    }
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

torch::Tensor NeuralPredictor::memory_embedding(const std::vector<std::string>& prompts) const {
  torch::NoGradGuard ng;
  auto pieces = tokenize(prompts);
  if (uses_bag()) {
    bag->eval();
    auto in = bag_input(pieces);
    return torch::nn::functional::normalize(bag->embed(in.ids, in.offsets, in.stats), torch::nn::functional::NormalizeFuncOptions().dim(1));
  }
  transformer->eval();
  auto in = seq_input(pieces);
  return torch::nn::functional::normalize(transformer->embed(in.tokens, in.pad_mask, in.stats), torch::nn::functional::NormalizeFuncOptions().dim(1));
}

void NeuralPredictor::drop_memory() {
  mem_emb_ = torch::Tensor();
  mem_targets_ = torch::Tensor();
}

void NeuralPredictor::set_memory(const std::vector<std::string>& prompts, const Matrix& targets) {
  std::vector<torch::Tensor> parts;
  for (std::size_t a = 0; a < prompts.size(); a += kBatch) {
    std::vector<std::string> chunk(prompts.begin() + a, prompts.begin() + std::min(prompts.size(), a + kBatch));
    parts.push_back(memory_embedding(chunk));
  }
  mem_emb_ = torch::cat(parts, 0);
  mem_targets_ = to_tensor(targets);
}

std::string NeuralPredictor::input_signature() const {
  return fmt::format("{}|{}|{}|{}|{}|{}|{}", tok_->checksum(), cfg_.vocab, cfg_.buckets, cfg_.char_ngrams, cfg_.stats,
                     uses_bag(), uses_transformer() ? cfg_.max_len : -1);
}

NeuralPredictor::Batch NeuralPredictor::prepare(const std::vector<std::string>& prompts) const {
  auto enc = tokenize(prompts);
  Batch b;
  b.size = prompts.size();
  if (uses_bag()) b.bag = bag_input(enc);
  if (uses_transformer()) b.seq = seq_input(enc);
  return b;
}

void NeuralPredictor::run_batch(const Batch& in, std::size_t at, Matrix& raw, std::vector<double>& sim) const {
  torch::NoGradGuard ng;
  const long outs = cfg_.outputs;
  std::vector<torch::Tensor> heads;
  torch::Tensor mem;
  if (uses_bag()) {
    bag->eval();
    auto h = bag->embed(in.bag.ids, in.bag.offsets, in.bag.stats);
    mem = h;
    if (meta().kind != "knn") heads.push_back(bag->head_of(h));
  }
  if (uses_transformer()) {
    transformer->eval();
    auto h = transformer->embed(in.seq.tokens, in.seq.pad_mask, in.seq.stats);
    if (!mem.defined()) mem = h;
    heads.push_back(transformer->head_of(h));
  }
  if (mem_emb_.defined() && mem_emb_.size(0) > 0) {
    auto q = torch::nn::functional::normalize(mem, torch::nn::functional::NormalizeFuncOptions().dim(1));
    auto s = torch::matmul(q, mem_emb_.t());
    auto top = s.topk(std::min<long>(k, mem_emb_.size(0)), 1);
    auto vals = std::get<0>(top), idx = std::get<1>(top);
    auto simv = vals.mean(1).to(torch::kFloat64).contiguous();
    std::copy(simv.data_ptr<double>(), simv.data_ptr<double>() + in.size, sim.begin() + at);
    if (meta().kind == "knn") {
      auto w = torch::softmax(vals / kKnnTemperature, 1);  // [B, k]
      auto t = mem_targets_.index_select(0, idx.reshape({-1})).view({idx.size(0), idx.size(1), outs});
      heads.push_back((w.unsqueeze(-1) * t).sum(1));
    }
  }
  if (heads.empty()) fail("predictor of kind {} has no memory (kNN) saved", meta().kind);
  auto m = to_matrix(torch::stack(heads, 0).mean(0));
  std::copy(m.data.begin(), m.data.end(), raw.data.begin() + at * outs);
}

void NeuralPredictor::predict_raw(const std::vector<std::string>& prompts, Matrix& raw, std::vector<double>& sim) const {
  raw = Matrix(prompts.size(), cfg_.outputs);
  sim.assign(prompts.size(), NAN);
  for (std::size_t a = 0; a < prompts.size(); a += kBatch) {
    std::size_t b = std::min(prompts.size(), a + kBatch);
    run_batch(prepare(std::vector<std::string>(prompts.begin() + a, prompts.begin() + b)), a, raw, sim);
  }
}

void NeuralPredictor::save(const std::string& dir) const {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  std::vector<TensorBlob> blobs;
  if (bag)
    for (auto& p : bag->named_parameters()) blobs.push_back(blob_of("bag." + p.key(), p.value(), is_table(p.key())));
  if (transformer)
    for (auto& p : transformer->named_parameters()) blobs.push_back(blob_of("transformer." + p.key(), p.value(), is_table(p.key())));
  if (mem_emb_.defined()) {
    blobs.push_back(blob_of("memory.embeddings", mem_emb_, true));
    blobs.push_back(blob_of("memory.targets", mem_targets_));
  }
  write_safetensors((fs::path(dir) / "weights.safetensors").string(), std::move(blobs), {{"kind", meta().kind}});
  fs::copy_file(tok_->model_path(), fs::path(dir) / "tokenizer.model", fs::copy_options::overwrite_existing);
  save_meta(dir);
}

std::unique_ptr<NeuralPredictor> NeuralPredictor::load(const std::string& dir, PredictorMeta meta) {
  namespace fs = std::filesystem;
  auto tok_path = (fs::path(dir) / "tokenizer.model").string();
  auto tok = SentencePieceTokenizer::shared(tok_path);
  if (tok->checksum() != meta.tokenizer_checksum)
    fail("{}: tokenizer checksum {} differs from the {} the predictor was trained with", tok_path, tok->checksum(),
         meta.tokenizer_checksum);
  NetConfig cfg;
  try {
    cfg = NetConfig::from_json(meta.model.at("net"));
  } catch (const json::exception& e) {
    fail("{}/predictor.json: model.net: {}", dir, e.what());
  }
  int k = meta.model.value("k", 32);
  auto p = std::make_unique<NeuralPredictor>(std::move(meta), cfg, tok);
  p->k = k;
  auto f = WeightFiles::file((fs::path(dir) / "weights.safetensors").string());
  LoadOptions lo;
  lo.prefix = "bag.";
  if (p->bag) load_weights(*p->bag, f, lo);
  lo.prefix = "transformer.";
  if (p->transformer) load_weights(*p->transformer, f, lo);
  if (f.has("memory.embeddings")) {
    p->mem_emb_ = f.get("memory.embeddings");
    p->mem_targets_ = f.get("memory.targets");
    if (p->mem_emb_.size(1) != cfg.hidden || p->mem_targets_.size(1) != cfg.outputs ||
        p->mem_emb_.size(0) != p->mem_targets_.size(0))
      fail("{}: memory tensors do not fit the model", f.describe());
  } else if (p->meta().kind == "knn") {
    fail("{}: no tensor \"memory.embeddings\" (needed by kind {})", f.describe(), p->meta().kind);
  }
  return p;
}

// ---- training ---------------------------------------------------------------------------

namespace {

// Trains one net (bag or transformer) with AdamW and early stopping on validation AIQ.
template <typename Net, typename Forward>
void fit_net(Net& net, Forward&& forward, const std::string& name, const TrainingSet& train, const TrainingSet& val,
             const std::vector<double>& costs, const PredictorMeta& meta, int max_epochs, int patience, double lr,
             double weight_decay, std::uint64_t seed, json& log) {
  const std::size_t n = train.prompts.size(), outs = train.targets.cols, m = outs - 1;
  auto targets = to_tensor(train.targets);
  auto weights = torch::ones({(long)outs});
  weights[m] = 0.25;  // the level matters less than the ranking
  torch::optim::AdamW opt(net->parameters(), torch::optim::AdamWOptions(lr).weight_decay(weight_decay));
  std::mt19937_64 rng(seed);
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  const std::size_t batch = 64;
  double best = -1e300;
  int best_epoch = -1, bad = 0;
  std::vector<torch::Tensor> best_state;
  Progress bar("train " + name, static_cast<std::size_t>(max_epochs), "epoch");
  for (int epoch = 0; epoch < max_epochs; ++epoch) {
    net->train();
    std::shuffle(order.begin(), order.end(), rng);
    double total = 0;
    for (std::size_t a = 0; a < n; a += batch) {
      std::vector<std::size_t> idx(order.begin() + a, order.begin() + std::min(n, a + batch));
      std::vector<long> li(idx.begin(), idx.end());
      auto y = targets.index_select(0, torch::tensor(li, torch::kLong));
      auto pred = forward(idx, true);
      auto loss = ((pred - y).pow(2) * weights).mean();
      opt.zero_grad();
      loss.backward();
      opt.step();
      total += loss.template item<double>() * idx.size();
    }
    net->eval();
    Matrix raw;
    {
      torch::NoGradGuard ng;
      std::vector<std::size_t> all(val.prompts.size());
      std::iota(all.begin(), all.end(), 0);
      raw = to_matrix(forward(all, false));
    }
    auto q = qualities_from_raw(raw, meta.stats, Confidence{}, {});
    double score = validation_score(q, val, costs, meta.candidates).score;
    log.push_back({{"net", name}, {"epoch", epoch + 1}, {"train_loss", total / n}, {"val_aiq", score}});
    spdlog::debug("{} epoch {:>3}: train loss {:.4f}  val AIQ {:.4f}", name, epoch + 1, total / n, score);
    bar.set_postfix(fmt::format("loss {:.4f} val AIQ {:.4f}", total / n, score));
    bar.advance();
    if (score > best) {
      best = score;
      best_epoch = epoch + 1;
      bad = 0;
      best_state.clear();
      for (auto& p : net->parameters()) best_state.push_back(p.detach().clone());
    } else if (++bad >= patience) {
      break;
    }
  }
  bar.finish();
  torch::NoGradGuard ng;
  auto params = net->parameters();
  for (std::size_t i = 0; i < params.size(); ++i) params[i].copy_(best_state[i]);
  spdlog::info("{}: best validation AIQ {:.4f} at epoch {}", name, best, best_epoch);
}

}  // namespace

std::unique_ptr<NeuralPredictor> train_neural(const PredictorMeta& base, const NeuralTrainOptions& opt,
                                              const TrainingSet& train, const TrainingSet& val,
                                              const std::vector<double>& costs) {
  torch::manual_seed(opt.seed);
  auto tok = std::make_shared<SentencePieceTokenizer>(opt.tokenizer_model);
  NetConfig cfg;
  cfg.vocab = tok->vocab_size();
  cfg.outputs = static_cast<int>(train.targets.cols);
  cfg.dropout = opt.dropout;
  cfg.dim = opt.dim;
  cfg.hidden = opt.hidden;
  cfg.buckets = opt.buckets;
  cfg.stats = opt.prompt_stats ? NeuralPredictor::kPromptStats : 0;
  cfg.char_ngrams = opt.char_ngrams;
  PredictorMeta meta = base;
  meta.kind = opt.kind;
  meta.tokenizer_checksum = tok->checksum();
  auto p = std::make_unique<NeuralPredictor>(meta, cfg, tok);
  json log = json::array();

  auto train_pieces = p->tokenize(train.prompts), val_pieces = p->tokenize(val.prompts);
  auto pick = [](const std::vector<NeuralPredictor::Encoded>& all, const std::vector<std::size_t>& idx) {
    std::vector<NeuralPredictor::Encoded> out;
    out.reserve(idx.size());
    for (auto i : idx) out.push_back(all[i]);
    return out;
  };
  if (p->bag) {
    auto fwd = [&](const std::vector<std::size_t>& idx, bool training) {
      auto in = p->bag_input(pick(training ? train_pieces : val_pieces, idx));
      return p->bag->head_of(p->bag->embed(in.ids, in.offsets, in.stats));
    };
    fit_net(p->bag, fwd, "bag", train, val, costs, meta, opt.max_epochs_bag, opt.patience, opt.lr_bag, opt.weight_decay, opt.seed, log);
  }
  if (p->transformer) {
    auto fwd = [&](const std::vector<std::size_t>& idx, bool training) {
      auto in = p->seq_input(pick(training ? train_pieces : val_pieces, idx));
      return p->transformer->head_of(p->transformer->embed(in.tokens, in.pad_mask, in.stats));
    };
    fit_net(p->transformer, fwd, "transformer", train, val, costs, meta, opt.max_epochs_transformer, opt.patience,
            opt.lr_transformer, opt.weight_decay, opt.seed + 1, log);
  }
  p->set_memory(train.prompts, train.targets);

  // k for the kNN part, chosen on validation.
  json k_search = json::array();
  if (opt.kind == "knn") {
    double best = -1e300;
    int best_k = 32;
    for (int k : {8, 16, 32, 64, 128}) {
      p->k = k;
      double s = validation_score(*p, val, costs).score;
      k_search.push_back({{"k", k}, {"val_aiq", s}});
      spdlog::info("  k {:<4} validation AIQ {:.4f}", k, s);
      if (s > best) { best = s; best_k = k; }
    }
    p->k = best_k;
  }
  p->mutable_meta().confidence = calibrate_confidence(*p, val, opt.confidence_pct[0], opt.confidence_pct[1]);
  auto& m = p->mutable_meta();
  m.model = {{"net", cfg.to_json()}, {"k", p->k}, {"knn_temperature", kKnnTemperature}};
  m.training["epochs"] = log;
  if (!k_search.empty()) m.training["k_search"] = k_search;
  return p;
}

}  // namespace catimage
