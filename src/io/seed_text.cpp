#include "catimage/io/seed_text.hpp"

#include <cctype>
#include <stdexcept>

namespace catimage {

std::optional<std::uint64_t> parse_seed(const std::string& text) {
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) return std::nullopt;
  try {
    std::size_t used = 0;
    const std::uint64_t v = std::stoull(text, &used, 10);
    if (used == text.size()) return v;
  } catch (const std::exception&) {  // out of range
  }
  return std::nullopt;
}

}  // namespace catimage
