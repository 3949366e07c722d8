// libFuzzer harness: read_prompts (src/io/prompt_reader.cpp + csv_reader.cpp).
// Byte 0 picks the format (bits 0-1: .txt, .jsonl, .json, .csv), strict mode (bit 2) and a
// small --max-prompt-bytes (bit 3); the rest is the file. Every accepted prompt must be
// usable (non-empty, no NUL, valid UTF-8, within the limit, with an id), records come back in
// file order, and for .txt/.jsonl every line is either a prompt or a skipped line (none lost).
#include <cstring>

#include "catimage/io/prompt_reader.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/strings.hpp"
#include "catimage/util/utf8.hpp"
#include "fuzz_common.hpp"

using namespace catimage;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static const char* const kExt[] = {"txt", "jsonl", "json", "csv"};
  const int format = data[0] & 3;
  PromptReadOptions opt;
  opt.strict = data[0] & 4;
  if (data[0] & 8) opt.max_bytes = 24;
  const std::string path = fuzz::write_input(std::string("prompts.") + kExt[format], data + 1, size - 1);
  PromptFile f;
  try {
    f = read_prompts(path, opt);
  } catch (const Error&) {
    return 0;
  }
  FUZZ_CHECK(f.source == path);
  if (opt.strict) FUZZ_CHECK(f.skipped.empty());
  for (const auto& p : f.prompts) {
    FUZZ_CHECK(p.line > 0);
    FUZZ_CHECK(!p.id.empty());
    FUZZ_CHECK(prompt_problem(p.prompt, opt.max_bytes).empty());
    FUZZ_CHECK(find_invalid_utf8(p.prompt) == std::string::npos);
  }
  for (const auto& s : f.skipped) {
    FUZZ_CHECK(s.line > 0);
    FUZZ_CHECK(!s.reason.empty());
  }
  // Prompts and skipped records, merged, are in strictly increasing line order (each record
  // reported once).
  std::size_t a = 0, b = 0;
  long last = 0;
  while (a < f.prompts.size() || b < f.skipped.size()) {
    long l;
    if (b == f.skipped.size() || (a < f.prompts.size() && f.prompts[a].line < f.skipped[b].line))
      l = f.prompts[a++].line;
    else
      l = f.skipped[b++].line;
    FUZZ_CHECK(l > last);
    last = l;
  }
  if (format <= 1) {  // text and JSONL: one record per line, as std::getline splits them
    std::size_t lines = 0, at = 1;
    while (at < size) {
      const void* nl = std::memchr(data + at, '\n', size - at);
      ++lines;
      if (!nl) break;
      at = static_cast<const std::uint8_t*>(nl) - data + 1;
    }
    FUZZ_CHECK(f.prompts.size() + f.skipped.size() == lines);
    FUZZ_CHECK(last == static_cast<long>(lines));
    if (format == 0)
      for (const auto& p : f.prompts) FUZZ_CHECK(p.id == std::to_string(p.line));
  }
  return 0;
}
