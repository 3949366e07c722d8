#pragma once
// The libtorch predictors: bag, transformer and knn. One class serves the three kinds; its
// NeuralArch, fixed by the kind's row in registry.cpp, says which nets and outputs it uses.
//   nets.cpp              the libtorch modules
//   neural_predictor.cpp  the nets' inputs (pieces, hashed n-grams, prompt statistics) and prediction
//   neural_memory.cpp     the training prompts' memory: similarity (for the confidence) and kNN
//   neural_io.cpp         save and load (weights.safetensors, tokenizer.model)
//   neural_train.cpp      the training loop
#include <memory>

#include "catimage/predictor/predictor.hpp"
#include "catimage/predictor/registry.hpp"
#include "catimage/text/sentencepiece_tokenizer.hpp"
#include "predictor/nets.hpp"
#include "predictor/neural_memory.hpp"

namespace catimage {

struct NeuralArch {
  bool bag = false;          // the embedding-bag net (its embedding is the memory's)
  bool transformer = false;  // the transformer net (its embedding is the memory's when there is no bag net)
  bool knn = false;          // output the kNN mean over the memory instead of the bag net's head
};
inline constexpr NeuralArch kBagArch{true, false, false};
inline constexpr NeuralArch kTransformerArch{false, true, false};
inline constexpr NeuralArch kKnnArch{true, false, true};

class NeuralPredictor : public Predictor {
 public:
  NeuralPredictor(PredictorMeta meta, NeuralArch arch, NetConfig cfg, std::shared_ptr<SentencePieceTokenizer> tok);
  static std::unique_ptr<NeuralPredictor> load(const std::string& dir, PredictorMeta meta, NeuralArch arch);

  void predict_raw(const std::vector<std::string>& prompts, Matrix& raw, std::vector<double>& sim) const override;
  void save(const std::string& dir) const override;

  const NeuralArch& arch() const { return arch_; }
  // The prompt embedding the kNN memory and the confidence use (bag, or transformer alone).
  torch::Tensor memory_embedding(const std::vector<std::string>& prompts) const;
  // Stores normalised embeddings and standardised targets of the training prompts.
  void set_memory(const std::vector<std::string>& prompts, const Matrix& targets);
  void set_memory(NeuralMemory memory) { memory_ = std::move(memory); }
  void drop_memory() { memory_ = {}; }
  // Rounds what save() stores as F16 (embedding tables, the memory's embeddings) to F16 in place,
  // so the trained predictor predicts exactly what its saved copy will (neural_io.cpp).
  void round_to_stored_precision();  // then no similarity (confidence) and no kNN

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
  struct BagInput {
    torch::Tensor ids, offsets, stats;
  };
  struct SeqInput {
    torch::Tensor tokens, pad_mask, stats;
  };
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
  NeuralArch arch_;
  NetConfig cfg_;
  std::shared_ptr<SentencePieceTokenizer> tok_;
  NeuralMemory memory_;
};

// Trains the nets of `arch` (AdamW, early stopping on validation AIQ), stores the memory,
// chooses k (knn) and calibrates the confidence. The kind recorded is in.base.kind; the
// hyper-parameters come from in.req (see TrainRequest::hyper).
std::unique_ptr<NeuralPredictor> train_neural(const TrainInput& in, NeuralArch arch, std::uint64_t seed);

}  // namespace catimage
