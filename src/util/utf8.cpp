#include "catimage/util/utf8.hpp"

#include <cwctype>

namespace catimage {

std::size_t find_invalid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t n = s.size(), i = 0;
  while (i < n) {
    unsigned c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    unsigned cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else
      return i;
    if (i + len > n) return i;
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    // overlong encodings, surrogates, out of range
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return i;
    i += len;
  }
  return std::string_view::npos;
}

std::u32string decode_utf8(std::string_view s, Utf8Errors errors) {
  std::u32string out;
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const int n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    char32_t c = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
    bool ok = n > 0 && i + n <= s.size();
    for (int k = 1; ok && k < n; ++k) {
      const auto cb = static_cast<unsigned char>(s[i + k]);
      if ((cb >> 6) != 2) ok = false;
      c = (c << 6) | (cb & 0x3F);
    }
    if (ok) {
      out += c;
      i += n;
    } else {
      out += errors == Utf8Errors::escape ? static_cast<char32_t>(0xDC80 + b) : U'\uFFFD';
      ++i;
    }
  }
  return out;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

std::string encode_utf8(const std::u32string& s, Utf8Errors errors) {
  std::string out;
  for (char32_t c : s) {
    if (errors == Utf8Errors::escape && c >= 0xDC80 && c <= 0xDCFF)
      out += static_cast<char>(c - 0xDC80);
    else
      append_utf8(out, c);
  }
  return out;
}

locale_t utf8_locale() {
  static const locale_t l = [] {
    for (const char* name : {"C.UTF-8", "C.utf8", "en_US.UTF-8"}) {
      locale_t x = newlocale(LC_CTYPE_MASK, name, static_cast<locale_t>(nullptr));
      if (x) return x;
    }
    return static_cast<locale_t>(nullptr);
  }();
  return l;
}

char32_t lower_code_point(char32_t c) {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  const auto l = utf8_locale();
  return l ? static_cast<char32_t>(towlower_l(static_cast<wint_t>(c), l)) : c;
}

namespace {
bool continuation(unsigned char c) { return (c & 0xC0) == 0x80; }
}  // namespace

std::string utf8_prefix(std::string_view s, std::size_t max_chars) {
  std::size_t i = 0, n = 0;
  while (i < s.size() && n < max_chars) {
    ++i;
    while (i < s.size() && continuation(static_cast<unsigned char>(s[i]))) ++i;
    ++n;
  }
  return std::string(s.substr(0, i));
}

std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += !continuation(c);
  return n;
}

std::string pad_utf8(std::string_view s, std::size_t width) {
  const std::size_t n = utf8_length(s);
  return std::string(s) + std::string(n < width ? width - n : 0, ' ');
}

}  // namespace catimage
