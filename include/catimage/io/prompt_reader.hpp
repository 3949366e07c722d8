#pragma once
// Reads prompts for `route`/`generate`: a text file (one prompt per line), .jsonl with a
// "prompt" key (and optional "id"), or .csv with a "prompt" column (and optional "id" or
// "prompt_id"). "-" reads text from stdin. A leading BOM and CRLF line ends are accepted.
// Lines that cannot be prompts (empty, NUL bytes, invalid UTF-8, over the length limit,
// malformed JSON) are not dropped silently: each is returned in `skipped` with its line
// number and reason, and with `strict` the first one is an error.
#include <string>
#include <vector>

namespace catimage {

struct PromptItem {
  long line = 0;    // 1-based line (record start for CSV)
  std::string id;   // from the file, else the line number
  std::string prompt;
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
