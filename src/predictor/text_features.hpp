#pragma once
// Text features shared by the predictors: normalisation, word n-grams, char_wb n-grams
// (as scikit-learn's analyzers define them), and hashing of sentencepiece n-grams.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace catimage {

// Lower-cases ASCII, turns every run of whitespace into one space, trims.
std::string normalize_prompt(const std::string& s);

// Words: runs of letters/digits/underscore (any non-ASCII byte counts as a letter) of at
// least 2 characters; n-grams of n_lo..n_hi words joined by one space.
std::vector<std::string> word_ngrams(const std::string& norm, int n_lo, int n_hi);

// char_wb: character n-grams (n_lo..n_hi, in code points) inside each space-padded word.
std::vector<std::string> char_wb_ngrams(const std::string& norm, int n_lo, int n_hi);
// The same n-grams, as views into a scratch buffer, without allocating each one (a template, so
// that the per-n-gram call inlines: it is the hot loop of TF-IDF prediction).
template <class Fn>
void for_each_char_wb_ngram(const std::string& norm, int n_lo, int n_hi, Fn&& fn) {
  std::string w;
  std::vector<std::size_t> cp;  // byte offset of each code point
  std::size_t start = 0;
  while (start <= norm.size()) {
    std::size_t end = norm.find(' ', start);
    if (end == std::string::npos) end = norm.size();
    if (end > start) {
      w.assign(1, ' ');
      w.append(norm, start, end - start);
      w.push_back(' ');
      cp.clear();
      for (std::size_t i = 0; i < w.size(); ++i)
        if ((static_cast<unsigned char>(w[i]) & 0xC0) != 0x80) cp.push_back(i);
      cp.push_back(w.size());
      const std::size_t len = cp.size() - 1;
      const std::string_view v(w);
      for (int n = n_lo; n <= n_hi; ++n) {
        if (len < static_cast<std::size_t>(n)) {  // scikit-learn keeps the whole short word once
          fn(v);
          continue;
        }
        for (std::size_t i = 0; i + n <= len; ++i) fn(v.substr(cp[i], cp[i + n] - cp[i]));
      }
    }
    start = end + 1;
  }
}

std::uint64_t hash64(std::string_view s);
std::uint64_t hash_ids(const int* ids, int n, std::uint64_t seed);

}  // namespace catimage
