#pragma once
// The libtorch predictors: bag, transformer and knn (see predictor.hpp).
#include <memory>

#include "catimage/predictor/nets.hpp"
#include "catimage/predictor/predictor.hpp"
#include "catimage/predictor/training_data.hpp"
#include "catimage/text/sentencepiece_tokenizer.hpp"

namespace catimage {

class NeuralPredictor : public Predictor {
 public:
  NeuralPredictor(PredictorMeta meta, NetConfig cfg, std::shared_ptr<SentencePieceTokenizer> tok);
  static std::unique_ptr<NeuralPredictor> load(const std::string& dir, PredictorMeta meta);

  void predict_raw(const std::vector<std::string>& prompts, Matrix& raw, std::vector<double>& sim) const override;
  void save(const std::string& dir) const override;

  bool uses_bag() const;
  bool uses_transformer() const;
  // The prompt embedding the kNN memory and the confidence use (bag, or transformer alone).
  torch::Tensor memory_embedding(const std::vector<std::string>& prompts) const;
  // Stores normalised embeddings and standardised targets of the training prompts.
  void set_memory(const std::vector<std::string>& prompts, const Matrix& targets);
  void drop_memory();  // then no similarity (confidence) and no kNN

  const NetConfig& config() const { return cfg_; }
  const SentencePieceTokenizer& tokenizer() const { return *tok_; }
  int k = 32;
  mutable BagNet bag{nullptr};  // mutable: eval() and forward are not const in libtorch
  mutable TransformerNet transformer{nullptr};

  // Inputs of the nets.
  struct Encoded {
    std::string norm;         // normalised prompt
    std::vector<int> pieces;  // sentencepiece ids of it
  };
  struct BagInput { torch::Tensor ids, offsets, stats; };
  struct SeqInput { torch::Tensor tokens, pad_mask, stats; };
  std::vector<Encoded> tokenize(const std::vector<std::string>& prompts) const;
  BagInput bag_input(const std::vector<Encoded>& e) const;
  SeqInput seq_input(const std::vector<Encoded>& e) const;
  // A batch's prepared inputs; members whose input_signature() is equal can share one.
  struct Batch {
    std::size_t size = 0;
    BagInput bag;
    SeqInput seq;
  };
  std::string input_signature() const;
  Batch prepare(const std::vector<std::string>& prompts) const;
  // Writes rows [at, at + batch.size) of raw and sim.
  void run_batch(const Batch& batch, std::size_t at, Matrix& raw, std::vector<double>& sim) const;
  static constexpr std::size_t kBatch = 1024;

  // Prompt statistics [B, kPromptStats]: log lengths (words, characters, commas, pieces)
  // and a one-hot word-count bin; ranking the candidates depends strongly on length.
  static constexpr int kPromptStats = 13;
  torch::Tensor prompt_stats(const std::vector<Encoded>& e) const;

 private:
  NetConfig cfg_;
  std::shared_ptr<SentencePieceTokenizer> tok_;
  torch::Tensor mem_emb_, mem_targets_;
};

struct NeuralTrainOptions {
  std::string kind;
  std::uint64_t seed = 0;
  int max_epochs_bag = 60, max_epochs_transformer = 30, patience = 8;
  std::string tokenizer_model;  // sentencepiece model file
  double lr_bag = 1e-3, lr_transformer = 5e-4, weight_decay = 0.3, dropout = 0.5;
  int dim = 32, hidden = 128, buckets = 16384;
  bool prompt_stats = true, char_ngrams = true;
  std::vector<double> confidence_pct = {0.01, 0.10};  // see calibrate_confidence
};

std::unique_ptr<NeuralPredictor> train_neural(const PredictorMeta& base, const NeuralTrainOptions& opt,
                                              const TrainingSet& train, const TrainingSet& val,
                                              const std::vector<double>& costs);

}  // namespace catimage
