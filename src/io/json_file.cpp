#include "catimage/io/json_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "catimage/util/error.hpp"

namespace catimage {

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("{}: cannot open: {}", path, std::strerror(errno));
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) fail("{}: read error", path);
  return ss.str();
}

json parse_json(std::string_view text, const std::string& origin, long first_line) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    std::size_t byte = e.byte > 0 ? e.byte - 1 : 0;
    long line = first_line, col = 1;
    for (std::size_t i = 0; i < byte && i < text.size(); ++i) {
      if (text[i] == '\n') { ++line; col = 1; } else { ++col; }
    }
    std::string msg = e.what();
    auto p = msg.find("parse error");
    if (p != std::string::npos) msg = msg.substr(p);
    fail("{}:{}:{}: invalid JSON: {}", origin, line, col, msg);
  }
}

json read_json_file(const std::string& path) { return parse_json(read_file(path), path); }

const char* json_type(const json& j) { return j.type_name(); }

}  // namespace catimage
