#include "catimage/text/t5_tokenizer.hpp"

#include <filesystem>

#include "catimage/io/config_view.hpp"
#include "catimage/text/sentencepiece_tokenizer.hpp"
#include "catimage/util/error.hpp"

namespace fs = std::filesystem;

namespace catimage {

namespace {

// Python's str.isspace() for the code point starting at s[i]; its length in `len`.
bool py_space_at(const std::string& s, std::size_t i, std::size_t& len) {
  const auto c = static_cast<unsigned char>(s[i]);
  len = 1;
  if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f)) return true;
  if (c < 0x80) return false;
  std::uint32_t cp = 0;
  if ((c & 0xe0) == 0xc0 && i + 1 < s.size()) {
    cp = ((c & 0x1f) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3f);
    len = 2;
  } else if ((c & 0xf0) == 0xe0 && i + 2 < s.size()) {
    cp = ((c & 0x0f) << 12) | ((static_cast<unsigned char>(s[i + 1]) & 0x3f) << 6) |
         (static_cast<unsigned char>(s[i + 2]) & 0x3f);
    len = 3;
  } else {
    return false;
  }
  return cp == 0x85 || cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

std::string py_lstrip(const std::string& s) {
  std::size_t i = 0, len = 0;
  while (i < s.size() && py_space_at(s, i, len)) i += len;
  return s.substr(i);
}

std::string py_rstrip(const std::string& s) {
  // the end of the last code point that is not whitespace
  std::size_t i = 0, len = 0, end = 0;
  while (i < s.size()) {
    bool sp = py_space_at(s, i, len);
    i += len;
    if (!sp) end = i;
  }
  return s.substr(0, end);
}

struct Segment {
  std::string text;
  std::int64_t special_id = -1;  // >= 0: a special token
  bool strips = false;           // <extra_id_K>: strips the whitespace beside it
};

}  // namespace

T5Tokenizer::T5Tokenizer(const std::string& spiece_model_path, int extra_ids)
    : path_(spiece_model_path), extra_ids_(extra_ids) {
  std::error_code ec;
  if (!fs::is_regular_file(spiece_model_path, ec))
    fail("{}: missing (the T5 tokenizer's sentencepiece model, spiece.model)", spiece_model_path);
  if (extra_ids < 0) fail("{}: extra_ids must be >= 0, not {}", spiece_model_path, extra_ids);
  sp_ = SentencePieceTokenizer::shared(spiece_model_path);
  // T5's fixed special ids: <pad> 0, </s> 1, <unk> 2
  const std::pair<int, const char*> want[] = {{0, "<pad>"}, {1, "</s>"}, {2, "<unk>"}};
  for (const auto& [id, piece] : want)
    if (sp_->vocab_size() <= id || sp_->piece(id) != piece)
      fail("{}: not a T5 sentencepiece model: id {} is \"{}\", expected {}", spiece_model_path, id,
           sp_->vocab_size() > id ? sp_->piece(id) : std::string("(none)"), piece);
}

T5Tokenizer T5Tokenizer::from_folder(const std::string& tokenizer_dir) {
  const auto model = (fs::path(tokenizer_dir) / "spiece.model").string();
  std::error_code ec;
  if (!fs::is_regular_file(model, ec))
    fail("{}: missing (the T5 tokenizer's sentencepiece model; only the slow T5Tokenizer's spiece.model is read)",
         model);
  int extra_ids = 100;
  const auto cfg_path = fs::path(tokenizer_dir) / "tokenizer_config.json";
  if (fs::is_regular_file(cfg_path, ec)) {
    auto c = ConfigView::load(cfg_path.string());
    c.read("extra_ids", extra_ids);
    // legacy=False prepends a space to the text after special tokens (transformers' non-legacy
    // mode); only the legacy behaviour the PixArt folders use is implemented.
    c.require_defaults({{"legacy", true}});
    if (c.has("sp_model_kwargs") && !(c.raw()["sp_model_kwargs"].is_object() && c.raw()["sp_model_kwargs"].empty()))
      c.bad("sp_model_kwargs", "sentencepiece options (e.g. sampling) are not supported");
    auto cls = c.get_string("tokenizer_class", "T5Tokenizer");
    if (cls != "T5Tokenizer" && cls != "T5TokenizerFast")
      c.bad("tokenizer_class", "\"" + cls + "\" is not a T5 tokenizer (T5Tokenizer)");
    if (c.has("additional_special_tokens")) {
      const auto& a = c.raw()["additional_special_tokens"];
      if (!a.is_array()) c.bad("additional_special_tokens", "expected a list");
      for (const auto& t : a) {
        std::string s = t.is_string() ? t.get<std::string>()
                        : t.is_object() && t.contains("content") && t["content"].is_string()
                            ? t["content"].get<std::string>()
                            : std::string();
        if (s.rfind("<extra_id_", 0) != 0)
          c.bad("additional_special_tokens",
                "\"" + s + "\": only T5's <extra_id_K> tokens are supported as additional special tokens");
      }
    }
  }
  return T5Tokenizer(model, extra_ids);
}

std::int64_t T5Tokenizer::vocab_size() const { return sp_->vocab_size() + extra_ids_; }

namespace {

// Splits `text` on T5's special tokens (transformers' added-tokens trie: none of them is a
// prefix of another and each has its only '<' first, so a left-to-right scan finds the same
// matches), then strips the whitespace beside the <extra_id_K> tokens (lstrip=rstrip=True).
std::vector<Segment> split_special(const std::string& text, int extra_ids, std::int64_t sp_size) {
  std::vector<Segment> out;
  std::size_t start = 0, i = 0;
  auto flush = [&](std::size_t end) {
    if (end > start) out.push_back({text.substr(start, end - start)});
  };
  while (i < text.size()) {
    if (text[i] != '<') {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::int64_t id = -1;
    bool strips = false;
    static const std::pair<const char*, int> fixed[] = {{"<pad>", 0}, {"</s>", 1}, {"<unk>", 2}};
    for (const auto& [tok, tid] : fixed) {
      const std::size_t n = std::char_traits<char>::length(tok);
      if (text.compare(i, n, tok) == 0) {
        len = n;
        id = tid;
      }
    }
    static const std::string extra = "<extra_id_";
    if (id < 0 && text.compare(i, extra.size(), extra) == 0) {
      std::size_t j = i + extra.size();
      std::size_t d0 = j;
      while (j < text.size() && j - d0 < 9 && text[j] >= '0' && text[j] <= '9') ++j;
      if (j > d0 && j < text.size() && text[j] == '>') {
        const std::string digits = text.substr(d0, j - d0);
        const long k = std::stol(digits);
        // the token's text is exactly "<extra_id_" + str(k) + ">"
        if (std::to_string(k) == digits && k < extra_ids) {
          len = j + 1 - i;
          id = sp_size - 1 + extra_ids - k;
          strips = true;
        }
      }
    }
    if (id < 0) {
      ++i;
      continue;
    }
    flush(i);
    out.push_back({text.substr(i, len), id, strips});
    i += len;
    start = i;
  }
  flush(text.size());
  for (std::size_t k = 0; k < out.size(); ++k) {
    if (!out[k].strips) continue;
    if (k + 1 < out.size() && out[k + 1].special_id < 0) out[k + 1].text = py_lstrip(out[k + 1].text);
    if (k > 0 && out[k - 1].special_id < 0) out[k - 1].text = py_rstrip(out[k - 1].text);
  }
  return out;
}

}  // namespace

std::vector<std::string> T5Tokenizer::tokenize(const std::string& text) const {
  std::vector<std::string> out;
  for (const auto& s : split_special(text, extra_ids_, sp_->vocab_size())) {
    if (s.text.empty()) continue;
    if (s.special_id >= 0) {
      out.push_back(s.text);
      continue;
    }
    for (int id : sp_->encode(s.text)) out.push_back(sp_->piece(id));
  }
  return out;
}

std::vector<std::int64_t> T5Tokenizer::encode_plain(const std::string& text) const {
  std::vector<std::int64_t> out;
  for (const auto& s : split_special(text, extra_ids_, sp_->vocab_size())) {
    if (s.text.empty()) continue;
    if (s.special_id >= 0) {
      out.push_back(s.special_id);
      continue;
    }
    for (int id : sp_->encode(s.text)) out.push_back(id);
  }
  return out;
}

std::vector<std::int64_t> T5Tokenizer::encode_one(const std::string& text, int max_length) const {
  if (max_length < 2) fail("T5 tokenizer: max_length must be at least 2, not {}", max_length);
  auto ids = encode_plain(text);
  // transformers: truncate to leave room for the special tokens (one </s>), then add </s>
  // unless the ids already end with it
  if (ids.size() + 1 > static_cast<std::size_t>(max_length)) ids.resize(max_length - 1);
  if (ids.empty() || ids.back() != eos_id()) ids.push_back(eos_id());
  return ids;
}

bool T5Tokenizer::truncates(const std::string& text, int max_length) const {
  return encode_plain(text).size() + 1 > static_cast<std::size_t>(max_length);
}

T5TokenBatch T5Tokenizer::encode(const std::vector<std::string>& texts, int max_length) const {
  if (max_length < 2) fail("T5 tokenizer: max_length must be at least 2, not {}", max_length);
  const auto B = static_cast<std::int64_t>(texts.size());
  T5TokenBatch out;
  out.input_ids = torch::full({B, max_length}, pad_id(), torch::kInt64);
  out.attention_mask = torch::zeros({B, max_length}, torch::kInt64);
  auto ids_a = out.input_ids.accessor<std::int64_t, 2>();
  auto mask_a = out.attention_mask.accessor<std::int64_t, 2>();
  for (std::int64_t b = 0; b < B; ++b) {
    const auto ids = encode_one(texts[b], max_length);
    for (std::size_t j = 0; j < ids.size(); ++j) {
      ids_a[b][j] = ids[j];
      mask_a[b][j] = 1;
    }
  }
  return out;
}

}  // namespace catimage
