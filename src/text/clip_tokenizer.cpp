#include "catimage/text/clip_tokenizer.hpp"

#include <locale.h>
#include <clocale>
#include <cwctype>
#include <filesystem>

#include "catimage/io/json_file.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/utf8.hpp"

namespace fs = std::filesystem;

namespace catimage {

namespace {

bool is_space(char32_t c) {
  if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') return true;
  if (c < 0x80) return false;
  auto l = utf8_locale();
  return l && iswspace_l(static_cast<wint_t>(c), l);
}
bool is_letter(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  auto l = utf8_locale();
  return l && iswalpha_l(static_cast<wint_t>(c), l);
}
bool is_number(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  auto l = utf8_locale();
  return l && iswalnum_l(static_cast<wint_t>(c), l) && !iswalpha_l(static_cast<wint_t>(c), l);
}
bool is_control(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  return c < 0x20 || (c >= 0x7F && c < 0xA0) || c == 0x00AD || (c >= 0x200B && c <= 0x200F) ||
         (c >= 0x202A && c <= 0x202E) || (c >= 0x2060 && c <= 0x2064) || c == 0xFEFF;
}
bool is_cjk(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// transformers' BasicTokenizer (lower case, no accent stripping, no punctuation split),
// joined back with single spaces.
std::u32string basic_clean(const std::u32string& text) {
  std::u32string spaced;
  for (char32_t c : text) {
    if (c == 0 || c == 0xFFFD || is_control(c)) continue;
    if (is_space(c)) {
      spaced += U' ';
    } else if (is_cjk(c)) {
      spaced += U' ';
      spaced += c;
      spaced += U' ';
    } else {
      spaced += lower_code_point(c);
    }
  }
  std::u32string out;
  for (char32_t c : spaced) {
    if (c == U' ' && (out.empty() || out.back() == U' ')) continue;
    out += c;
  }
  while (!out.empty() && out.back() == U' ') out.pop_back();
  return out;
}

// CLIP's pattern: 's|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
std::vector<std::u32string> pre_tokenize(const std::u32string& t) {
  static const std::u32string contractions[] = {U"'s", U"'t", U"'re", U"'ve", U"'m", U"'ll", U"'d"};
  std::vector<std::u32string> out;
  std::size_t i = 0;
  while (i < t.size()) {
    bool matched = false;
    for (const auto& c : contractions) {
      if (t.compare(i, c.size(), c) == 0) {
        out.push_back(c);
        i += c.size();
        matched = true;
        break;
      }
    }
    if (matched) continue;
    char32_t c = t[i];
    if (is_space(c)) {
      ++i;
    } else if (is_letter(c)) {
      std::size_t j = i;
      while (j < t.size() && is_letter(t[j])) ++j;
      out.push_back(t.substr(i, j - i));
      i = j;
    } else if (is_number(c)) {
      out.push_back(t.substr(i, 1));
      ++i;
    } else {
      std::size_t j = i;
      while (j < t.size() && !is_space(t[j]) && !is_letter(t[j]) && !is_number(t[j])) ++j;
      out.push_back(t.substr(i, j - i));
      i = j;
    }
  }
  return out;
}

std::string special_token(const json& j, const char* key, const std::string& def) {
  if (!j.contains(key) || j[key].is_null()) return def;
  if (j[key].is_string()) return j[key].get<std::string>();
  if (j[key].is_object() && j[key].contains("content") && j[key]["content"].is_string())
    return j[key]["content"].get<std::string>();
  return def;
}

const std::string kBos = "<|startoftext|>", kEos = "<|endoftext|>";

}  // namespace

ClipTokenizer ClipTokenizer::from_folder(const std::string& dir, const std::string& bpe_dir) {
  std::string pad = kEos;
  int max_length = 77;
  auto cfg = fs::path(dir) / "tokenizer_config.json";
  auto stm = fs::path(dir) / "special_tokens_map.json";
  if (fs::is_regular_file(cfg)) {
    json j = read_json_file(cfg.string());
    pad = special_token(j, "pad_token", pad);
    if (j.contains("model_max_length") && j["model_max_length"].is_number_integer()) {
      auto m = j["model_max_length"].get<long long>();
      if (m > 0 && m <= 4096) max_length = static_cast<int>(m);
    }
  }
  if (fs::is_regular_file(stm)) pad = special_token(read_json_file(stm.string()), "pad_token", pad);
  const fs::path bpe = bpe_dir.empty() ? fs::path(dir) : fs::path(bpe_dir);
  return ClipTokenizer((bpe / "vocab.json").string(), (bpe / "merges.txt").string(), pad, max_length);
}

ClipTokenizer::ClipTokenizer(const std::string& vocab_json, const std::string& merges_txt, const std::string& pad_token,
                             int max_length)
    : max_length_(max_length), origin_(vocab_json) {
  if (max_length < 2)
    fail("{}: model_max_length {} leaves no room for the start and end tokens", vocab_json, max_length);
  // bytes_to_unicode: printable bytes map to themselves, the rest to 256+n
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    byte_to_unicode_[b].clear();
    append_utf8(byte_to_unicode_[b], printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + n++));
  }
  json v = read_json_file(vocab_json);
  if (!v.is_object() || v.empty()) fail("{}: expected an object of token -> id", vocab_json);
  for (const auto& [tok, id] : v.items()) {
    if (!id.is_number_integer() || id.get<long long>() < 0)
      fail("{}: token \"{}\" has id {}, expected a non-negative integer", vocab_json, tok, id.dump());
    vocab_[tok] = id.get<int>();
  }
  for (const auto* t : {&kBos, &kEos})
    if (!vocab_.count(*t)) fail("{}: the vocabulary has no \"{}\"", vocab_json, *t);
  if (!vocab_.count(pad_token)) fail("{}: the pad token \"{}\" is not in the vocabulary", vocab_json, pad_token);
  bos_ = vocab_[kBos];
  eos_ = vocab_[kEos];
  pad_ = vocab_[pad_token];
  std::string merges = read_file(merges_txt);
  std::size_t pos = 0;
  long line_no = 0;
  int rank = 0;
  while (pos < merges.size()) {
    auto end = merges.find('\n', pos);
    if (end == std::string::npos) end = merges.size();
    std::string line = merges.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line_no == 1 && line.rfind("#version", 0) == 0) continue;
    if (line.empty()) continue;
    auto sp = line.find(' ');
    if (sp == std::string::npos || sp == 0 || sp + 1 >= line.size() || line.find(' ', sp + 1) != std::string::npos)
      fail("{}: a merge is two symbols separated by one space", where(merges_txt, line_no));
    ranks_.emplace(line, rank++);
  }
}

std::vector<std::string> ClipTokenizer::bpe(const std::string& token) const {
  // symbols: one per unicode character of the byte-mapped token; the last gets "</w>"
  std::vector<std::string> word;
  auto cps = decode_utf8(token, Utf8Errors::replace);
  for (char32_t c : cps) {
    std::string s;
    append_utf8(s, c);
    word.push_back(s);
  }
  if (word.empty()) return word;
  word.back() += "</w>";
  while (word.size() > 1) {
    int best = -1;
    std::size_t at = 0;
    for (std::size_t i = 0; i + 1 < word.size(); ++i) {
      auto it = ranks_.find(word[i] + " " + word[i + 1]);
      if (it != ranks_.end() && (best < 0 || it->second < best)) {
        best = it->second;
        at = i;
      }
    }
    if (best < 0) break;
    // merge every occurrence of that pair, left to right (as CLIP's bpe() does)
    const std::string a = word[at], b = word[at + 1];
    std::vector<std::string> merged;
    for (std::size_t i = 0; i < word.size();) {
      if (i + 1 < word.size() && word[i] == a && word[i + 1] == b) {
        merged.push_back(a + b);
        i += 2;
      } else {
        merged.push_back(word[i++]);
      }
    }
    word.swap(merged);
  }
  return word;
}

std::vector<int> ClipTokenizer::encode(const std::string& text) const {
  std::vector<int> ids;
  // Special tokens written in the text are kept whole (transformers splits them out first).
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t next = std::string::npos, len = 0;
    int special = -1;
    for (const auto* t : {&kBos, &kEos}) {
      auto f = text.find(*t, pos);
      if (f != std::string::npos && f < next) {
        next = f;
        len = t->size();
        special = *t == kBos ? bos_ : eos_;
      }
    }
    std::string chunk = text.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
    for (const auto& piece : pre_tokenize(basic_clean(decode_utf8(chunk, Utf8Errors::replace)))) {
      std::string mapped;
      for (unsigned char b : encode_utf8(piece, Utf8Errors::replace)) mapped += byte_to_unicode_[b];
      for (const auto& sym : bpe(mapped)) {
        auto it = vocab_.find(sym);
        ids.push_back(it == vocab_.end() ? eos_ : it->second);  // unk_token is <|endoftext|>
      }
    }
    if (next == std::string::npos) break;
    ids.push_back(special);
    pos = next + len;
  }
  return ids;
}

bool ClipTokenizer::truncates(const std::string& text) const {
  return encode(text).size() > static_cast<std::size_t>(max_length_ - 2);
}

std::vector<int> ClipTokenizer::encode_padded(const std::string& text) const {
  auto body = encode(text);
  std::vector<int> ids;
  ids.reserve(max_length_);
  ids.push_back(bos_);
  for (std::size_t i = 0; i < body.size() && ids.size() < static_cast<std::size_t>(max_length_ - 1); ++i)
    ids.push_back(body[i]);
  ids.push_back(eos_);
  while (ids.size() < static_cast<std::size_t>(max_length_)) ids.push_back(pad_);
  return ids;
}

}  // namespace catimage
