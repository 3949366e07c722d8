#include "predictor/tfidf.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "catimage/util/error.hpp"
#include "predictor/text_features.hpp"

namespace catimage {

namespace {

void count_block(const std::vector<std::string>& grams, std::unordered_map<std::string, int>& counts) {
  for (const auto& g : grams) ++counts[g];
}

}  // namespace

void TfidfVectorizer::fit(const std::vector<std::string>& prompts, int min_df) {
  std::unordered_map<std::string, int> df_word, df_char;
  for (const auto& p : prompts) {
    auto n = normalize_prompt(p);
    std::unordered_map<std::string, int> w, c;
    count_block(word_ngrams(n, 1, 2), w);
    count_block(char_wb_ngrams(n, 2, 5), c);
    for (auto& [g, _] : w) ++df_word[g];
    for (auto& [g, _] : c) ++df_char[g];
  }
  terms_.clear();
  idf_.clear();
  word_index_.clear();
  char_index_.clear();
  const double N = static_cast<double>(prompts.size());
  for (auto* df : {&df_word, &df_char}) {
    std::vector<std::pair<std::string, int>> kept;
    for (auto& [g, d] : *df)
      if (d >= min_df) kept.emplace_back(g, d);
    std::sort(kept.begin(), kept.end());  // deterministic order
    for (auto& [g, d] : kept) {
      add_term(g, df == &df_word);
      idf_.push_back(static_cast<float>(std::log((1 + N) / (1 + d)) + 1));
    }
    if (df == &df_word) n_word_ = terms_.size();
  }
}

SparseRow TfidfVectorizer::transform(const std::string& prompt) const {
  auto n = normalize_prompt(prompt);
  SparseRow row;
  std::vector<std::pair<int, float>> vals;
  for (int block = 0; block < 2; ++block) {
    std::vector<int> ids;
    if (block == 0) {
      for (const auto& g : word_ngrams(n, 1, 2)) {
        auto it = word_index_.find(g);
        if (it != word_index_.end()) ids.push_back(it->second);
      }
    } else {
      for_each_char_wb_ngram(n, 2, 5, [&](std::string_view g) {
        auto it = char_index_.find(hash64(g));
        if (it != char_index_.end()) ids.push_back(it->second);
      });
    }
    std::sort(ids.begin(), ids.end());
    vals.clear();
    for (std::size_t a = 0; a < ids.size();) {  // runs of equal ids = term counts
      std::size_t b = a;
      while (b < ids.size() && ids[b] == ids[a]) ++b;
      vals.emplace_back(ids[a], static_cast<float>((1 + std::log(double(b - a))) * idf_[ids[a]]));
      a = b;
    }
    double norm = 0;
    for (auto& [i, v] : vals) norm += double(v) * v;
    norm = std::sqrt(norm);
    for (auto& [i, v] : vals) {
      row.idx.push_back(i);
      row.val.push_back(static_cast<float>(v / norm));
    }
  }
  return row;
}

void TfidfVectorizer::add_term(const std::string& t, bool word) {
  int id = static_cast<int>(terms_.size());
  if (word)
    word_index_.emplace(t, id);
  else if (!char_index_.emplace(hash64(t), id).second)
    fail("TF-IDF vocabulary: 64-bit hash collision on \"{}\"", t);
  terms_.push_back(t);
}

json TfidfVectorizer::to_json() const {
  return {{"word_terms", std::vector<std::string>(terms_.begin(), terms_.begin() + n_word_)},
          {"char_terms", std::vector<std::string>(terms_.begin() + n_word_, terms_.end())},
          {"idf", idf_},
          {"word_ngram_range", {1, 2}},
          {"char_wb_ngram_range", {2, 5}},
          {"sublinear_tf", true}};
}

TfidfVectorizer TfidfVectorizer::from_json(const json& j, const std::string& origin) {
  TfidfVectorizer v;
  try {
    auto w = j.at("word_terms").get<std::vector<std::string>>();
    auto c = j.at("char_terms").get<std::vector<std::string>>();
    v.idf_ = j.at("idf").get<std::vector<float>>();
    if (v.idf_.size() != w.size() + c.size())
      fail("{}: idf has {} entries for {} terms", origin, v.idf_.size(), w.size() + c.size());
    v.n_word_ = w.size();
    for (auto& t : w) v.add_term(t, true);
    for (auto& t : c) v.add_term(t, false);
  } catch (const json::exception& e) {
    fail("{}: bad TF-IDF vocabulary: {}", origin, e.what());
  }
  return v;
}

}  // namespace catimage
