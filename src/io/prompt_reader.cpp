#include "catimage/io/prompt_reader.hpp"

#include <fstream>
#include <iostream>
#include <memory>

#include "catimage/io/csv_reader.hpp"
#include "catimage/io/json_file.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/strings.hpp"

namespace catimage {

namespace {

bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && to_lower(s.substr(s.size() - suf.size())) == suf;
}

class Collector {
 public:
  Collector(PromptFile& f, const PromptReadOptions& o) : f_(f), o_(o) {}
  void skip(long line, std::string reason) {
    if (o_.strict) fail("{}: {}", where(f_.source, line), reason);
    f_.skipped.push_back({line, std::move(reason)});
  }
  void add(long line, std::string id, std::string prompt) {
    auto why = prompt_problem(prompt, o_.max_bytes);
    if (!why.empty()) return skip(line, why);
    if (id.empty()) id = std::to_string(line);
    f_.prompts.push_back({line, std::move(id), std::move(prompt)});
  }

 private:
  PromptFile& f_;
  const PromptReadOptions& o_;
};

void read_text(std::istream& in, Collector& c, bool jsonl, const std::string& origin) {
  std::string line;
  long n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (n == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
    if (!jsonl) {
      c.add(n, "", line);
      continue;
    }
    if (trim(line).empty()) { c.skip(n, "empty line"); continue; }
    json j;
    try {
      j = parse_json(line, origin, n);
    } catch (const Error& e) {
      c.skip(n, e.what());
      continue;
    }
    if (!j.is_object() || !j.contains("prompt") || !j["prompt"].is_string()) {
      c.skip(n, "JSON line has no string \"prompt\" key");
      continue;
    }
    std::string id;
    if (j.contains("id")) {
      if (j["id"].is_string()) id = j["id"].get<std::string>();
      else if (j["id"].is_number_integer()) id = std::to_string(j["id"].get<long long>());
      else { c.skip(n, "\"id\" is neither a string nor an integer"); continue; }
    }
    c.add(n, id, j["prompt"].get<std::string>());
  }
  if (in.bad()) fail("{}: read error", origin);
}

void read_csv(std::istream& in, Collector& c, const std::string& origin) {
  CsvReader r(in, origin);
  CsvTable t;
  if (!r.next(t.header)) fail("{}: empty CSV file (expected a header with a \"prompt\" column)", origin);
  int pc = t.column("prompt");
  if (pc < 0) fail("{}:1: no \"prompt\" column in the CSV header", origin);
  int ic = t.column("id");
  if (ic < 0) ic = t.column("prompt_id");
  std::vector<std::string> f;
  while (r.next(f)) {
    if (f.size() == 1 && f[0].empty()) { c.skip(r.line(), "empty line"); continue; }
    if (f.size() != t.header.size()) {
      c.skip(r.line(), fmt::format("{} fields where the header has {}", f.size(), t.header.size()));
      continue;
    }
    c.add(r.line(), ic >= 0 ? f[ic] : "", f[pc]);
  }
}

}  // namespace

std::string prompt_problem(const std::string& s, std::size_t max_bytes) {
  if (trim(s).empty()) return "empty line";
  if (auto p = s.find('\0'); p != std::string::npos)
    return fmt::format("contains a NUL byte at byte {}", p + 1);
  if (auto p = find_invalid_utf8(s); p != std::string::npos)
    return fmt::format("invalid UTF-8 at byte {}", p + 1);
  if (s.size() > max_bytes)
    return fmt::format("prompt is {} bytes, over the limit of {} (--max-prompt-bytes)", s.size(),
                       max_bytes);
  return {};
}

PromptFile read_prompts(const std::string& path, const PromptReadOptions& opt) {
  PromptFile f;
  f.source = path == "-" ? "<stdin>" : path;
  Collector c(f, opt);
  std::unique_ptr<std::ifstream> file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file = std::make_unique<std::ifstream>(path, std::ios::binary);
    if (!*file) fail("{}: cannot open prompt file", path);
    in = file.get();
  }
  if (ends_with(path, ".csv")) read_csv(*in, c, f.source);
  else read_text(*in, c, ends_with(path, ".jsonl"), f.source);
  return f;
}

}  // namespace catimage
