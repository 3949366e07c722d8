#include "batch/image_name.hpp"

#include <cctype>

#include "catimage/util/hash.hpp"

namespace catimage {

namespace {
constexpr std::size_t kMaxPlain = 80, kKeep = 64;
bool safe(char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.'; }
}  // namespace

std::string image_stem(const std::string& id) {
  std::string s;
  for (char ch : id) s += safe(ch) ? ch : '_';
  if (!id.empty() && s == id && id.size() <= kMaxPlain && id[0] != '.') return id;
  if (s.empty() || s[0] == '.') s = "p" + s;
  if (s.size() > kKeep) s.resize(kKeep);
  return s + "-" + fnv1a64_hex(id).substr(0, 12);
}

}  // namespace catimage
