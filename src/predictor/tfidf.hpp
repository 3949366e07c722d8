#pragma once
// TF-IDF features: word 1-2-grams and char_wb 2-5-grams, each block with smooth idf,
// sublinear tf and L2 row normalisation, concatenated (a FeatureUnion of two
// scikit-learn TfidfVectorizers). Terms seen in fewer than min_df training prompts are dropped.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "catimage/io/json_file.hpp"

namespace catimage {

struct SparseRow {
  std::vector<int> idx;
  std::vector<float> val;
};

class TfidfVectorizer {
 public:
  void fit(const std::vector<std::string>& prompts, int min_df = 2);
  SparseRow transform(const std::string& prompt) const;
  std::size_t size() const { return terms_.size(); }

  json to_json() const;  // vocabulary and idf, for saving beside the weights
  static TfidfVectorizer from_json(const json& j, const std::string& origin);

 private:
  std::vector<std::string> terms_;  // word block first, then char block
  std::vector<float> idf_;
  std::size_t n_word_ = 0;
  std::unordered_map<std::string, int> word_index_;
  std::unordered_map<std::uint64_t, int> char_index_;  // by hash64 of the n-gram
  void add_term(const std::string& t, bool word);
};

}  // namespace catimage
