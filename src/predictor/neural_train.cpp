// Training a neural predictor: each net with AdamW and early stopping on validation AIQ,
// then the memory, k (knn) and the confidence.
#include <algorithm>
#include <numeric>
#include <random>

#include "catimage/predictor/trainer.hpp"
#include "catimage/util/logging.hpp"
#include "catimage/util/progress.hpp"
#include "predictor/confidence.hpp"
#include "predictor/neural_predictor.hpp"
#include "predictor/tensor_matrix.hpp"
#include "predictor/training_data.hpp"

namespace catimage {

namespace {

struct NeuralTrainOptions {
  std::uint64_t seed = 0;
  int max_epochs_bag = 60, max_epochs_transformer = 30, patience = 8;
  std::string tokenizer_model;  // sentencepiece model file
  double lr_bag = 1e-3, lr_transformer = 5e-4, weight_decay = 0.3, dropout = 0.5;
  int dim = 32, hidden = 128, buckets = 16384;
  bool prompt_stats = true, char_ngrams = true;
};

NeuralTrainOptions options_of(const TrainRequest& req, std::uint64_t seed) {
  NeuralTrainOptions o;
  o.seed = seed;
  o.tokenizer_model = req.tokenizer_model.empty() ? SentencePieceTokenizer::default_model() : req.tokenizer_model;
  if (req.max_epochs > 0) o.max_epochs_bag = o.max_epochs_transformer = req.max_epochs;
  o.lr_bag = req.hyper.value("lr", o.lr_bag);
  o.lr_transformer = req.hyper.value("lr_transformer", o.lr_transformer);
  o.weight_decay = req.hyper.value("weight_decay", o.weight_decay);
  o.dropout = req.hyper.value("dropout", o.dropout);
  o.dim = req.hyper.value("dim", o.dim);
  o.hidden = req.hyper.value("hidden", o.hidden);
  o.buckets = req.hyper.value("buckets", o.buckets);
  o.prompt_stats = req.hyper.value("prompt_stats", o.prompt_stats);
  o.char_ngrams = req.hyper.value("char_ngrams", o.char_ngrams);
  o.patience = req.hyper.value("patience", o.patience);
  return o;
}

// Trains one net (bag or transformer) with AdamW and early stopping on validation AIQ.
template <typename Net, typename Forward>
void fit_net(Net& net, Forward&& forward, const std::string& name, const TrainingSet& train, const TrainingSet& val,
             const TrainRequest& req, const PredictorMeta& meta, int max_epochs, int patience, double lr,
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
    double score = validation_score(req, q, val, meta.candidates).score;
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

std::unique_ptr<NeuralPredictor> train_neural(const TrainInput& in, NeuralArch arch, std::uint64_t seed) {
  const auto opt = options_of(in.req, seed);
  const auto& train = in.train;
  const auto& val = in.val;
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
  PredictorMeta meta = in.base;
  meta.tokenizer_checksum = tok->checksum();
  auto p = std::make_unique<NeuralPredictor>(meta, arch, cfg, tok);
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
      auto x = p->bag_input(pick(training ? train_pieces : val_pieces, idx));
      return p->bag->head_of(p->bag->embed(x.ids, x.offsets, x.stats));
    };
    fit_net(p->bag, fwd, "bag", train, val, in.req, meta, opt.max_epochs_bag, opt.patience, opt.lr_bag, opt.weight_decay,
            opt.seed, log);
  }
  if (p->transformer) {
    auto fwd = [&](const std::vector<std::size_t>& idx, bool training) {
      auto x = p->seq_input(pick(training ? train_pieces : val_pieces, idx));
      return p->transformer->head_of(p->transformer->embed(x.tokens, x.pad_mask, x.stats));
    };
    fit_net(p->transformer, fwd, "transformer", train, val, in.req, meta, opt.max_epochs_transformer, opt.patience,
            opt.lr_transformer, opt.weight_decay, opt.seed + 1, log);
  }
  p->set_memory(train.prompts, train.targets);
  p->round_to_stored_precision();  // from here on it predicts what its saved copy does

  // k for the kNN output, chosen on validation.
  json k_search = json::array();
  if (arch.knn) {
    double best = -1e300;
    int best_k = 32;
    for (int k : {8, 16, 32, 64, 128}) {
      p->k = k;
      double s = validation_score(in.req, *p, val).score;
      k_search.push_back({{"k", k}, {"val_aiq", s}});
      spdlog::info("  k {:<4} validation AIQ {:.4f}", k, s);
      if (s > best) {
        best = s;
        best_k = k;
      }
    }
    p->k = best_k;
  }
  p->mutable_meta().confidence = calibrate_confidence(*p, val, in.req);
  auto& m = p->mutable_meta();
  m.model = {{"net", cfg.to_json()}, {"k", p->k}, {"knn_temperature", NeuralMemory::kTemperature}};
  m.training["epochs"] = log;
  if (!k_search.empty()) m.training["k_search"] = k_search;
  return p;
}

}  // namespace catimage
