#include "predictor/text_features.hpp"

#include <cctype>

namespace catimage {

std::string normalize_prompt(const std::string& s) {
  std::string r;
  r.reserve(s.size());
  bool space = false;
  for (unsigned char c : s) {
    if (std::isspace(c)) {
      space = !r.empty();
      continue;
    }
    if (space) {
      r += ' ';
      space = false;
    }
    r += static_cast<char>(c < 0x80 ? std::tolower(c) : c);
  }
  return r;
}

std::vector<std::string> word_ngrams(const std::string& norm, int n_lo, int n_hi) {
  std::vector<std::string> words;
  std::string cur;
  std::size_t chars = 0;
  auto flush = [&] {
    if (chars >= 2) words.push_back(cur);
    cur.clear();
    chars = 0;
  };
  for (unsigned char c : norm) {
    bool word = c >= 0x80 || std::isalnum(c) || c == '_';
    if (!word) {
      flush();
      continue;
    }
    cur += static_cast<char>(c);
    if ((c & 0xC0) != 0x80) ++chars;
  }
  flush();
  std::vector<std::string> out;
  for (int n = n_lo; n <= n_hi; ++n)
    for (std::size_t i = 0; i + n <= words.size(); ++i) {
      std::string g = words[i];
      for (int k = 1; k < n; ++k) g += ' ' + words[i + k];
      out.push_back(std::move(g));
    }
  return out;
}

std::vector<std::string> char_wb_ngrams(const std::string& norm, int n_lo, int n_hi) {
  std::vector<std::string> out;
  for_each_char_wb_ngram(norm, n_lo, n_hi, [&](std::string_view g) { out.emplace_back(g); });
  return out;
}

std::uint64_t hash64(std::string_view s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::uint64_t hash_ids(const int* ids, int n, std::uint64_t seed) {
  std::uint64_t h = seed * 0x9E3779B97F4A7C15ULL + 1469598103934665603ULL;
  for (int i = 0; i < n; ++i) {
    h ^= static_cast<std::uint64_t>(ids[i]) + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace catimage
