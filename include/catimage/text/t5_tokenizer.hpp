#pragma once
// transformers' T5Tokenizer (the slow, sentencepiece one, legacy=True: how the PixArt-α/Σ
// folders ship it) as diffusers' PixArt pipelines call it:
//   tokenizer(text, padding="max_length", max_length=N, truncation=True, add_special_tokens=True)
// Text is split on the special tokens it contains (<pad>, </s>, <unk>, <extra_id_K>; the
// extra ids also strip the whitespace beside them), every other piece is encoded by
// sentencepiece (spiece.model, through the dlopen'ed shim), the ids are cut to N-1 and </s>
// (id 1) is appended unless they already end with it, then <pad> (id 0) fills up to N. The
// attention mask is 1 on the tokens, 0 on the padding. <extra_id_K> has id
// sp_vocab_size - 1 + extra_ids - K (32099 ... 32000 for T5's 32000-piece model).
// The ids equal transformers 4.x's (checked against 4.9 on the tests' prompts; 5.17 agrees
// except that it appends a second </s> to a text that ends with "</s>"). Not implemented:
// legacy=False's prefix-space handling and sentencepiece sampling (refused by from_folder).
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace catimage {

class SentencePieceTokenizer;

// int64 (B, max_length) each, on the CPU.
struct T5TokenBatch {
  torch::Tensor input_ids, attention_mask;
};

class T5Tokenizer {
 public:
  // `spiece_model_path`: a T5 sentencepiece model (pad 0, eos 1, unk 2). A missing or
  // unreadable file is an error naming it. `extra_ids`: transformers' default, 100.
  explicit T5Tokenizer(const std::string& spiece_model_path, int extra_ids = 100);
  // A tokenizer/ folder: spiece.model (required; the error names it) and tokenizer_config.json
  // (optional: extra_ids; "legacy": false, sp_model_kwargs and additional special tokens other
  // than <extra_id_K> are refused, naming the key).
  static T5Tokenizer from_folder(const std::string& tokenizer_dir);

  // The tokens of `text`: sentencepiece pieces (unknown text as "<unk>"), special tokens as
  // themselves (no </s>).
  std::vector<std::string> tokenize(const std::string& text) const;
  // Ids without </s>, truncation or padding.
  std::vector<std::int64_t> encode_plain(const std::string& text) const;
  // Ids with </s>, truncated to max_length (room kept for </s>), not padded.
  std::vector<std::int64_t> encode_one(const std::string& text, int max_length) const;
  // The batch, padded to max_length, and its attention mask.
  T5TokenBatch encode(const std::vector<std::string>& texts, int max_length) const;
  // True when encode_one(text, max_length) had to cut the text (for a warning).
  bool truncates(const std::string& text, int max_length) const;

  std::int64_t pad_id() const { return 0; }
  std::int64_t eos_id() const { return 1; }
  std::int64_t unk_id() const { return 2; }
  // sentencepiece pieces + extra ids (32100 for T5).
  std::int64_t vocab_size() const;
  const std::string& model_path() const { return path_; }

 private:
  std::shared_ptr<SentencePieceTokenizer> sp_;
  std::string path_;
  int extra_ids_ = 100;
};

}  // namespace catimage
