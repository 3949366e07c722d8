#pragma once
// CLIP's byte-level BPE tokenizer, as transformers' CLIPTokenizer runs it without ftfy:
// text cleanup (control characters dropped, whitespace collapsed, CJK ideographs spaced,
// lower case), CLIP's pre-tokenizer pattern ('s|'t|'re|'ve|'m|'ll|'d|letters+|one digit|
// other symbols+), byte-to-unicode mapping and BPE by merge rank, then <|startoftext|> ...
// <|endoftext|> truncated and padded to model_max_length (77) with the folder's pad token
// ("<|endoftext|>" for SD1.x/SDXL's first tokenizer, "!" for SD2.x and SDXL's second).
// Non-ASCII letters/digits are classified with the C library's Unicode tables (C.UTF-8).
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace catimage {

class ClipTokenizer {
 public:
  // A tokenizer/ folder: vocab.json, merges.txt, and special_tokens_map.json /
  // tokenizer_config.json for pad token and model_max_length (both optional). `bpe_dir`, when
  // given, holds vocab.json and merges.txt instead (a shipped config set's tokenizer takes them
  // from a hub repo: diffusion/loaders/model_source), the settings still being `dir`'s.
  static ClipTokenizer from_folder(const std::string& dir, const std::string& bpe_dir = "");
  ClipTokenizer(const std::string& vocab_json, const std::string& merges_txt, const std::string& pad_token,
                int max_length);

  // Ids without special tokens, padding or truncation.
  std::vector<int> encode(const std::string& text) const;
  // <bos> ids[:max_length-2] <eos> <pad>... : exactly max_length ids.
  std::vector<int> encode_padded(const std::string& text) const;
  // True when encode(text) had to be cut to fit (for a warning).
  bool truncates(const std::string& text) const;

  int bos_id() const { return bos_; }
  int eos_id() const { return eos_; }
  int pad_id() const { return pad_; }
  int max_length() const { return max_length_; }
  std::size_t vocab_size() const { return vocab_.size(); }

 private:
  std::vector<std::string> bpe(const std::string& word) const;
  std::unordered_map<std::string, int> vocab_;
  std::unordered_map<std::string, int> ranks_;  // "a b" -> rank
  std::string byte_to_unicode_[256];
  int bos_ = 0, eos_ = 0, pad_ = 0, max_length_ = 77;
  std::string origin_;
};

}  // namespace catimage
