#pragma once
// TF-IDF features: word 1-2-grams and char_wb 2-5-grams (ranges configurable), each block with
// smooth idf, sublinear tf and L2 row normalisation, concatenated (a FeatureUnion of two
// scikit-learn TfidfVectorizers). Terms seen in fewer than min_df training prompts are dropped.
// Optionally a third block of prompt-style features (style_features below), standardised on
// the training prompts and scaled to the weight of a block.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "catimage/io/json_file.hpp"

namespace catimage {

// Open-addressing hash map from 64-bit keys (n-gram hashes) to term ids: the char n-gram
// lookup is the hot loop of prediction, and a flat table keeps it in few cache lines.
class HashIndex {
 public:
  void clear() {
    keys_.clear();
    vals_.clear();
    size_ = 0;
  }
  // False when the key is present already.
  bool insert(std::uint64_t key, int val);
  int find(std::uint64_t key) const {  // -1 when absent
    if (vals_.empty()) return -1;
    for (std::size_t i = mix(key) & (keys_.size() - 1);; i = (i + 1) & (keys_.size() - 1)) {
      if (vals_[i] < 0) return -1;
      if (keys_[i] == key) return vals_[i];
    }
  }

 private:
  static std::size_t mix(std::uint64_t k) {
    return static_cast<std::size_t>((k ^ (k >> 29)) * 0xBF58476D1CE4E5B9ULL >> 17);
  }
  void grow();
  std::vector<std::uint64_t> keys_;
  std::vector<int> vals_;  // -1: empty slot
  std::size_t size_ = 0;
};

struct SparseRow {
  std::vector<int> idx;
  std::vector<float> val;
};

struct TfidfOptions {
  int word_lo = 1, word_hi = 2;  // word n-gram range
  int char_lo = 2, char_hi = 5;  // char_wb n-gram range
  bool style = false;            // the prompt-style block
  // From --hyper keys "word_ngrams": [lo, hi], "char_ngrams": [lo, hi], "style": bool (others
  // ignored); errors name the key.
  static TfidfOptions from_hyper(const json& hyper);
};

// The style block, before standardisation: prompt statistics (log words, characters, commas,
// digits and upper-case share) and DiffusionDB style markers ("by ARTIST" mentions, "trending
// on artstation", render engines, "highly detailed", resolutions, "(word:1.2)" weights,
// brackets, "--flags", photo / painting words).
std::vector<float> style_features(const std::string& prompt);

class TfidfVectorizer {
 public:
  void fit(const std::vector<std::string>& prompts, int min_df = 2, const TfidfOptions& opt = {});
  SparseRow transform(const std::string& prompt) const;
  std::size_t size() const { return terms_.size() + style_mean_.size(); }

  json to_json() const;  // vocabulary and idf, for saving beside the weights
  static TfidfVectorizer from_json(const json& j, const std::string& origin);

 private:
  TfidfOptions opt_;
  std::vector<float> style_mean_, style_std_;  // empty without the style block
  std::vector<std::string> terms_;             // word block first, then char block (the style block follows them)
  std::vector<float> idf_;
  std::size_t n_word_ = 0;
  std::unordered_map<std::string, int> word_index_;
  HashIndex char_index_;  // by hash64 of the n-gram
  void add_term(const std::string& t, bool word);
};

}  // namespace catimage
