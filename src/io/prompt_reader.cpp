#include "catimage/io/prompt_reader.hpp"

#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>

#include "catimage/io/csv_reader.hpp"
#include "catimage/io/json_file.hpp"
#include "catimage/io/seed_text.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/strings.hpp"
#include "catimage/util/utf8.hpp"

namespace catimage {

namespace {

enum class Format { text, jsonl, json, csv };

bool ends_with(const std::string& s, const std::string& suf) {
  return s.size() >= suf.size() && to_lower(s.substr(s.size() - suf.size())) == suf;
}

Format format_of(const std::string& path) {
  if (path == "-") return Format::text;
  if (ends_with(path, ".jsonl")) return Format::jsonl;
  if (ends_with(path, ".json")) return Format::json;
  if (ends_with(path, ".csv")) return Format::csv;
  for (const char* ext : {".txt", ".text", ".prompts"})
    if (ends_with(path, ext)) return Format::text;
  const auto slash = path.find_last_of('/');
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (name.find('.', 1) == std::string::npos) return Format::text;  // no extension
  fail("{}: unknown prompt-file extension (use .txt, .jsonl, .json or .csv; - for stdin)", path);
}

class Collector {
 public:
  Collector(PromptFile& f, const PromptReadOptions& o) : f_(f), o_(o) {}
  void skip(long line, std::string reason) {
    if (o_.strict) fail("{}: {}", where(f_.source, line), reason);
    f_.skipped.push_back({line, std::move(reason)});
  }
  void add(long line, std::string id, std::string prompt, std::optional<std::uint64_t> seed = std::nullopt) {
    auto why = prompt_problem(prompt, o_.max_bytes);
    if (!why.empty()) return skip(line, why);
    if (id.empty()) id = std::to_string(line);
    f_.prompts.push_back({line, std::move(id), std::move(prompt), seed});
  }

 private:
  PromptFile& f_;
  const PromptReadOptions& o_;
};

// A seed given as text (CSV); "" when fine, else the reason.
std::string parse_seed_cell(const std::string& text, std::optional<std::uint64_t>& seed) {
  if (text.empty()) return {};
  seed = parse_seed(text);
  if (!seed) return fmt::format("\"seed\" \"{}\" {}", text, kSeedRule);
  return {};
}

// One JSON prompt record (a .jsonl line or a .json array element) into the collector.
void add_json_record(const json& j, long n, Collector& c) {
  if (j.is_string()) return c.add(n, "", j.get<std::string>());
  if (!j.is_object() || !j.contains("prompt") || !j["prompt"].is_string())
    return c.skip(n, "JSON record has no string \"prompt\" key");
  std::string id;
  if (j.contains("id")) {
    if (j["id"].is_string())
      id = j["id"].get<std::string>();
    else if (j["id"].is_number_integer())
      id = std::to_string(j["id"].get<long long>());
    else
      return c.skip(n, "\"id\" is neither a string nor an integer");
    if (id.empty()) return c.skip(n, "\"id\" is empty");
  }
  std::optional<std::uint64_t> seed;
  if (j.contains("seed")) {
    if (!j["seed"].is_number_unsigned()) return c.skip(n, fmt::format("\"seed\" {}", kSeedRule));
    seed = j["seed"].get<std::uint64_t>();
  }
  c.add(n, id, j["prompt"].get<std::string>(), seed);
}

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
    if (trim(line).empty()) {
      c.skip(n, "empty line");
      continue;
    }
    json j;
    try {
      j = parse_json(line, origin, n);
    } catch (const Error& e) {
      c.skip(n, e.what());
      continue;
    }
    if (j.is_string()) {
      c.skip(n, "JSON line has no string \"prompt\" key");
      continue;
    }
    add_json_record(j, n, c);
  }
  if (in.bad()) fail("{}: read error", origin);
}

// A .json file: one array of prompt objects or strings; element k (1-based) is "line" k.
void read_json_array(std::istream& in, Collector& c, const std::string& origin) {
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail("{}: read error", origin);
  if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);
  json j = parse_json(text, origin, 1);
  if (!j.is_array())
    fail(
        "{}: expected a JSON array of prompts (strings or {{\"prompt\": ...}} objects); for one object per line "
        "use .jsonl",
        origin);
  long n = 0;
  for (const auto& e : j) add_json_record(e, ++n, c);
}

void read_csv(std::istream& in, Collector& c, const std::string& origin) {
  CsvReader r(in, origin);
  CsvTable t;
  std::string error;
  auto st = r.next_record(t.header, error);
  if (st == CsvReader::Status::end) fail("{}: empty CSV file (expected a header with a \"prompt\" column)", origin);
  if (st == CsvReader::Status::malformed) fail("{}: {} (in the header)", where(origin, r.line()), error);
  int pc = t.column("prompt");
  if (pc < 0) fail("{}:1: no \"prompt\" column in the CSV header", origin);
  int ic = t.column("id");
  if (ic < 0) ic = t.column("prompt_id");
  const int sc = t.column("seed");
  std::vector<std::string> f;
  while ((st = r.next_record(f, error)) != CsvReader::Status::end) {
    if (st == CsvReader::Status::malformed) {
      c.skip(r.line(), error);
      continue;
    }
    if (f.size() == 1 && f[0].empty()) {
      c.skip(r.line(), "empty line");
      continue;
    }
    if (f.size() != t.header.size()) {
      c.skip(r.line(), fmt::format("{} fields where the header has {}", f.size(), t.header.size()));
      continue;
    }
    std::optional<std::uint64_t> seed;
    if (sc >= 0) {
      auto why = parse_seed_cell(trim(f[sc]), seed);
      if (!why.empty()) {
        c.skip(r.line(), why);
        continue;
      }
    }
    c.add(r.line(), ic >= 0 ? f[ic] : "", f[pc], seed);
  }
}

}  // namespace

std::string prompt_problem(const std::string& s, std::size_t max_bytes) {
  if (trim(s).empty()) return "empty line";
  if (auto p = s.find('\0'); p != std::string::npos) return fmt::format("contains a NUL byte at byte {}", p + 1);
  if (auto p = find_invalid_utf8(s); p != std::string::npos) return fmt::format("invalid UTF-8 at byte {}", p + 1);
  if (s.size() > max_bytes)
    return fmt::format("prompt is {} bytes, over the limit of {} (--max-prompt-bytes)", s.size(), max_bytes);
  return {};
}

PromptFile read_prompts(const std::string& path, const PromptReadOptions& opt) {
  PromptFile f;
  f.source = path == "-" ? "<stdin>" : path;
  const Format format = format_of(path);
  Collector c(f, opt);
  std::unique_ptr<std::ifstream> file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file = std::make_unique<std::ifstream>(path, std::ios::binary);
    if (!*file) fail("{}: cannot open prompt file", path);
    in = file.get();
  }
  switch (format) {
    case Format::csv: read_csv(*in, c, f.source); break;
    case Format::json: read_json_array(*in, c, f.source); break;
    case Format::jsonl: read_text(*in, c, true, f.source); break;
    case Format::text: read_text(*in, c, false, f.source); break;
  }
  return f;
}

}  // namespace catimage
