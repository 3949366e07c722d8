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
  auto position = [&](std::size_t byte) {
    long line = first_line, col = 1;
    for (std::size_t i = 0; i < byte && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    return fmt::format("{}:{}:{}", origin, line, col);
  };
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    std::string msg = e.what();
    auto p = msg.find("parse error");
    if (p != std::string::npos) msg = msg.substr(p);
    fail("{}: invalid JSON: {}", position(e.byte > 0 ? e.byte - 1 : 0), msg);
  } catch (const json::exception& e) {
    // Not a syntax error: a number too large for a double ("number overflow parsing '1e400'",
    // out_of_range.406), which carries no position; locate the quoted token instead.
    std::string msg = e.what();
    auto p = msg.find("] ");
    if (p != std::string::npos) msg = msg.substr(p + 2);
    std::size_t byte = 0;
    auto q = msg.find('\'');
    if (q != std::string::npos && msg.size() > q + 2 && msg.back() == '\'') {
      auto at = text.find(std::string_view(msg).substr(q + 1, msg.size() - q - 2));
      if (at != std::string_view::npos) byte = at;
    }
    fail("{}: invalid JSON: {}", position(byte), msg);
  }
}

json read_json_file(const std::string& path) { return parse_json(read_file(path), path); }

const char* json_type(const json& j) { return j.type_name(); }

void for_each_record_line(const std::string& text, const std::function<void(const std::string&, long)>& f) {
  long n = 0;
  for (std::size_t at = 0; at < text.size();) {
    const auto nl = text.find('\n', at);
    if (nl == std::string::npos) break;
    ++n;
    const std::string line = text.substr(at, nl - at);
    at = nl + 1;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    f(line, n);
  }
}

}  // namespace catimage
