#include "predictor/tfidf.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <map>

#include "catimage/util/error.hpp"
#include "catimage/util/strings.hpp"
#include "predictor/text_features.hpp"

namespace catimage {

namespace {

void count_block(const std::vector<std::string>& grams, std::unordered_map<std::string, int>& counts) {
  for (const auto& g : grams) ++counts[g];
}

std::size_t count_of(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + what.size())) ++n;
  return n;
}

std::array<int, 2> range_of(const json& hyper, const char* key, std::array<int, 2> def, int max) {
  if (!hyper.contains(key)) return def;
  const json& r = hyper[key];
  if (!r.is_array() || r.size() != 2 || !r[0].is_number_integer() || !r[1].is_number_integer() || r[0].get<int>() < 1 ||
      r[1].get<int>() < r[0].get<int>() || r[1].get<int>() > max)
    fail("--hyper: \"{}\" must be [lo, hi] with 1 <= lo <= hi <= {}, got {}", key, max, r.dump());
  return {r[0].get<int>(), r[1].get<int>()};
}

constexpr float kStyleWeight = 1.0f;  // the style block's L2 norm is about this (as each TF-IDF block's is 1)

}  // namespace

bool HashIndex::insert(std::uint64_t key, int val) {
  if (2 * (size_ + 1) > keys_.size()) grow();
  for (std::size_t i = mix(key) & (keys_.size() - 1);; i = (i + 1) & (keys_.size() - 1)) {
    if (vals_[i] < 0) {
      keys_[i] = key;
      vals_[i] = val;
      ++size_;
      return true;
    }
    if (keys_[i] == key) return false;
  }
}

void HashIndex::grow() {
  std::vector<std::uint64_t> keys = std::move(keys_);
  std::vector<int> vals = std::move(vals_);
  const std::size_t cap = keys.empty() ? 1024 : 2 * keys.size();  // a power of two, at most half full
  keys_.assign(cap, 0);
  vals_.assign(cap, -1);
  size_ = 0;
  for (std::size_t i = 0; i < keys.size(); ++i)
    if (vals[i] >= 0) insert(keys[i], vals[i]);
}

TfidfOptions TfidfOptions::from_hyper(const json& hyper) {
  TfidfOptions o;
  const auto w = range_of(hyper, "word_ngrams", {1, 2}, 5);
  const auto c = range_of(hyper, "char_ngrams", {2, 5}, 8);
  o.word_lo = w[0];
  o.word_hi = w[1];
  o.char_lo = c[0];
  o.char_hi = c[1];
  if (hyper.contains("style")) {
    if (!hyper["style"].is_boolean()) fail("--hyper: \"style\" must be true or false, got {}", hyper["style"].dump());
    o.style = hyper["style"].get<bool>();
  }
  return o;
}

std::vector<float> style_features(const std::string& prompt) {
  std::string low = prompt;
  for (char& ch : low) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  const std::size_t words = count_words(prompt);
  std::size_t digits = 0, upper = 0, letters = 0, by_name = 0;
  for (std::size_t i = 0; i < prompt.size(); ++i) {
    const unsigned char ch = prompt[i];
    digits += std::isdigit(ch) != 0;
    letters += std::isalpha(ch) != 0;
    upper += std::isupper(ch) != 0;
    // "by Greg Rutkowski": "by " then a capital letter
    if (i + 3 < prompt.size() && (i == 0 || !std::isalpha(static_cast<unsigned char>(prompt[i - 1]))) &&
        low.compare(i, 3, "by ") == 0 && std::isupper(static_cast<unsigned char>(prompt[i + 3])))
      ++by_name;
  }
  auto has = [&](std::initializer_list<const char*> any) {
    for (const char* a : any)
      if (low.find(a) != std::string::npos) return 1.0f;
    return 0.0f;
  };
  std::size_t weights = 0;  // "(word:1.2)" prompt weights
  for (auto at = low.find(':'); at != std::string::npos; at = low.find(':', at + 1))
    if (at + 1 < low.size() && std::isdigit(static_cast<unsigned char>(low[at + 1]))) ++weights;
  const auto lg = [](double x) { return static_cast<float>(std::log1p(x)); };
  return {lg(words),
          lg(prompt.size()),
          lg(count_of(prompt, ",")),
          letters ? static_cast<float>(double(upper) / letters) : 0.0f,
          prompt.empty() ? 0.0f : static_cast<float>(double(digits) / prompt.size()),
          lg(by_name),
          has({"artstation"}),
          has({"unreal engine", "octane", "redshift", "blender", "cinema 4d", "vray"}),
          has({"highly detailed", "intricate", "hyper detailed", "ultra detailed", "hyperdetailed"}),
          has({"8k", "4k", "16k", "hd", "uhd", "high resolution"}),
          lg(weights),
          lg(count_of(prompt, "(") + count_of(prompt, "[") + count_of(prompt, "{")),
          has({"--"}),
          has({"photo", "photograph", "dslr", "35mm", "canon", "nikon"}),
          has({"painting", "illustration", "oil on canvas", "watercolor", "concept art", "digital art"})};
}

void TfidfVectorizer::fit(const std::vector<std::string>& prompts, int min_df, const TfidfOptions& opt) {
  opt_ = opt;
  std::unordered_map<std::string, int> df_word, df_char;
  for (const auto& p : prompts) {
    auto n = normalize_prompt(p);
    std::unordered_map<std::string, int> w, c;
    count_block(word_ngrams(n, opt.word_lo, opt.word_hi), w);
    count_block(char_wb_ngrams(n, opt.char_lo, opt.char_hi), c);
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
  style_mean_.clear();
  style_std_.clear();
  if (opt.style && !prompts.empty()) {
    std::vector<double> sum, sq;
    for (const auto& p : prompts) {
      const auto f = style_features(p);
      sum.resize(f.size(), 0.0);
      sq.resize(f.size(), 0.0);
      for (std::size_t k = 0; k < f.size(); ++k) {
        sum[k] += f[k];
        sq[k] += double(f[k]) * f[k];
      }
    }
    for (std::size_t k = 0; k < sum.size(); ++k) {
      const double m = sum[k] / prompts.size(), v = std::max(0.0, sq[k] / prompts.size() - m * m);
      style_mean_.push_back(static_cast<float>(m));
      style_std_.push_back(static_cast<float>(v > 1e-12 ? std::sqrt(v) : 1.0));
    }
  }
}

SparseRow TfidfVectorizer::transform(const std::string& prompt) const {
  auto n = normalize_prompt(prompt);
  SparseRow row;
  std::vector<std::pair<int, float>> vals;
  for (int block = 0; block < 2; ++block) {
    std::vector<int> ids;
    if (block == 0) {
      for (const auto& g : word_ngrams(n, opt_.word_lo, opt_.word_hi)) {
        auto it = word_index_.find(g);
        if (it != word_index_.end()) ids.push_back(it->second);
      }
    } else {
      for_each_char_wb_ngram(n, opt_.char_lo, opt_.char_hi, [&](std::string_view g) {
        const int id = char_index_.find(hash64(g));
        if (id >= 0) ids.push_back(id);
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
  if (!style_mean_.empty()) {
    const auto f = style_features(prompt);
    const float scale = kStyleWeight / std::sqrt(static_cast<float>(f.size()));
    for (std::size_t k = 0; k < f.size(); ++k) {
      const float z = (f[k] - style_mean_[k]) / style_std_[k];
      if (z == 0.0f) continue;
      row.idx.push_back(static_cast<int>(terms_.size() + k));
      row.val.push_back(scale * std::clamp(z, -5.0f, 5.0f));
    }
  }
  return row;
}

void TfidfVectorizer::add_term(const std::string& t, bool word) {
  int id = static_cast<int>(terms_.size());
  if (word)
    word_index_.emplace(t, id);
  else if (!char_index_.insert(hash64(t), id))
    fail("TF-IDF vocabulary: 64-bit hash collision on \"{}\"", t);
  terms_.push_back(t);
}

json TfidfVectorizer::to_json() const {
  return {{"word_terms", std::vector<std::string>(terms_.begin(), terms_.begin() + n_word_)},
          {"char_terms", std::vector<std::string>(terms_.begin() + n_word_, terms_.end())},
          {"idf", idf_},
          {"word_ngram_range", {opt_.word_lo, opt_.word_hi}},
          {"char_wb_ngram_range", {opt_.char_lo, opt_.char_hi}},
          {"sublinear_tf", true},
          {"style", style_mean_.empty() ? json(nullptr) : json{{"mean", style_mean_}, {"std", style_std_}}}};
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
    if (j.contains("word_ngram_range") || j.contains("char_wb_ngram_range")) {
      json h = json::object();
      if (j.contains("word_ngram_range")) h["word_ngrams"] = j["word_ngram_range"];
      if (j.contains("char_wb_ngram_range")) h["char_ngrams"] = j["char_wb_ngram_range"];
      v.opt_ = TfidfOptions::from_hyper(h);
    }
    if (j.contains("style") && !j["style"].is_null()) {
      v.style_mean_ = j["style"].at("mean").get<std::vector<float>>();
      v.style_std_ = j["style"].at("std").get<std::vector<float>>();
      if (v.style_mean_.size() != style_features("").size() || v.style_std_.size() != v.style_mean_.size())
        fail("{}: \"style\" must hold {} means and stds", origin, style_features("").size());
      v.opt_.style = true;
    }
    for (auto& t : w) v.add_term(t, true);
    for (auto& t : c) v.add_term(t, false);
  } catch (const json::exception& e) {
    fail("{}: bad TF-IDF vocabulary: {}", origin, e.what());
  }
  return v;
}

}  // namespace catimage
