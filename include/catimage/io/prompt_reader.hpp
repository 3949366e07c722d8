#pragma once
// Reads prompts for `route`/`generate`, by extension: a text file (.txt, .text, .prompts or
// no extension; one prompt per line), .jsonl (one object per line with a "prompt" key and
// optional "id" and "seed"), .json (an array of such objects or of strings), or .csv (a
// "prompt" column and optional "id"/"prompt_id" and "seed" columns). "-" reads text from
// stdin. Other extensions are errors. A leading BOM and CRLF line ends are accepted.
// Records that cannot be prompts (empty, NUL bytes, invalid UTF-8, over the length limit,
// malformed JSON or CSV quoting, a bad id or seed) are not dropped silently: each is
// returned in `skipped` with its line number and reason, and with `strict` the first one is
// an error.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace catimage {

struct PromptItem {
  long line = 0;   // 1-based line (record start for CSV)
  std::string id;  // from the file, else the line number (the element number in a .json array)
  std::string prompt;
  std::optional<std::uint64_t> seed;  // an explicit per-prompt seed from the file
};

struct SkippedLine {
  long line = 0;
  std::string reason;
};

struct PromptReadOptions {
  std::size_t max_bytes = 16384;
  bool strict = false;
};

struct PromptFile {
  std::string source;
  std::vector<PromptItem> prompts;
  std::vector<SkippedLine> skipped;
};

PromptFile read_prompts(const std::string& path, const PromptReadOptions& opt = {});

// Reason a single prompt string is unusable, or "" when it is fine.
std::string prompt_problem(const std::string& s, std::size_t max_bytes);

}  // namespace catimage
