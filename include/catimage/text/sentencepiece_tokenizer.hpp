#pragma once
// Sentencepiece tokenizer, reached through the dlopen'ed shim (see src/text/spm_shim.cpp).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "catimage/util/hash.hpp"

namespace catimage {

class SentencePieceTokenizer {
 public:
  // Throws Error naming the model file (or the shim) on failure.
  explicit SentencePieceTokenizer(const std::string& model_path);
  ~SentencePieceTokenizer();
  SentencePieceTokenizer(const SentencePieceTokenizer&) = delete;
  SentencePieceTokenizer& operator=(const SentencePieceTokenizer&) = delete;

  std::vector<int> encode(const std::string& text) const;
  std::string piece(int id) const;
  int vocab_size() const { return vocab_size_; }
  const std::string& model_path() const { return path_; }
  // FNV-1a 64 of the model file, hex: saved with predictors to pin their tokenizer.
  const std::string& checksum() const { return checksum_; }

  // Where the shim library is looked for: $CATIMAGE_SPM_SHIM, beside the executable, its
  // install prefix's lib/catimage/, the folder above it.
  static std::string shim_path();
  static std::string default_model();  // models/tokenizer/prompts.model
  // One loaded instance per distinct model file contents (copies of a model share it).
  static std::shared_ptr<SentencePieceTokenizer> shared(const std::string& model_path);

  struct Api;  // the shim's entry points (defined in the .cpp)

 private:
  std::shared_ptr<Api> api_;
  void* handle_ = nullptr;
  int vocab_size_ = 0;
  std::string path_, checksum_;
};

}  // namespace catimage
