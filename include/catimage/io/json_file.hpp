#pragma once
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace catimage {

using nlohmann::json;

// Reads a whole file as bytes; errors name the file.
std::string read_file(const std::string& path);

// Parses JSON text; a syntax error names `origin` with line and column.
// `first_line` is the line number of the text's first line (for JSONL records).
json parse_json(std::string_view text, const std::string& origin, long first_line = 1);

json read_json_file(const std::string& path);

// The record lines of a log (JSONL) text: f(line, line number) for each whole line that is not
// blank. A last line without its newline (an interrupted append) is not a record.
void for_each_record_line(const std::string& text, const std::function<void(const std::string&, long)>& f);

// Human-readable JSON type name, for messages.
const char* json_type(const json& j);

}  // namespace catimage
