#pragma once
#include <nlohmann/json.hpp>

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

// Human-readable JSON type name, for messages.
const char* json_type(const json& j);

}  // namespace catimage
