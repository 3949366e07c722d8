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
// The same n-grams, as views into a scratch buffer, without allocating each one.
void for_each_char_wb_ngram(const std::string& norm, int n_lo, int n_hi,
                            const std::function<void(std::string_view)>& fn);

std::uint64_t hash64(std::string_view s);
std::uint64_t hash_ids(const int* ids, int n, std::uint64_t seed);

}  // namespace catimage
