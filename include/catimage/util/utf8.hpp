#pragma once
// UTF-8 coding for the tokenizers and prompt readers: checking, decoding to code points and back,
// and the C.UTF-8 locale the wide-character classes are read from.
#include <locale.h>

#include <string>
#include <string_view>

namespace catimage {

// Returns the byte offset of the first invalid UTF-8 sequence (bad lead or continuation byte,
// truncated, overlong, surrogate, beyond U+10FFFF), or npos if valid.
std::size_t find_invalid_utf8(std::string_view s);

// What decoding does with a byte that starts no well-formed sequence.
enum class Utf8Errors {
  replace,  // U+FFFD (Python's errors="replace"; transformers' CLIP cleanup then drops it)
  escape,   // U+DC80 + byte, which encode_utf8 turns back into the byte (Python's "surrogateescape")
};

std::u32string decode_utf8(std::string_view s, Utf8Errors errors);
// With Utf8Errors::escape, U+DC80..U+DCFF become the bytes they stand for.
std::string encode_utf8(const std::u32string& s, Utf8Errors errors);
void append_utf8(std::string& out, char32_t c);

// The first `max_chars` code points of valid UTF-8 (invalid bytes count as one each), and
// the number of code points: for aligning text in terminal tables.
std::string utf8_prefix(std::string_view s, std::size_t max_chars);
std::size_t utf8_length(std::string_view s);
// `s` padded with spaces to `width` code points (unchanged when already as long).
std::string pad_utf8(std::string_view s, std::size_t width);

// C.UTF-8 (or an equivalent), for iswspace_l/towlower_l on code points; null if none exists.
locale_t utf8_locale();
// Unicode lower case of one code point (the locale's towlower; ASCII without it).
char32_t lower_code_point(char32_t c);

}  // namespace catimage
