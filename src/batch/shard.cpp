#include "catimage/batch/shard.hpp"

#include <stdexcept>

#include "catimage/util/error.hpp"

namespace catimage {

Shard Shard::parse(const std::string& text) {
  Shard s;
  auto slash = text.find('/');
  try {
    if (slash == std::string::npos) throw std::invalid_argument("");
    std::size_t a = 0, b = 0;
    s.index = std::stoi(text.substr(0, slash), &a);
    s.count = std::stoi(text.substr(slash + 1), &b);
    if (a != slash || b != text.size() - slash - 1) throw std::invalid_argument("");
  } catch (const std::exception&) {
    fail("--shard \"{}\": expected K/N, e.g. 0/4 (Slurm: $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)", text);
  }
  if (s.count < 1 || s.index < 0 || s.index >= s.count) fail("--shard {}: need 0 <= K < N", text);
  return s;
}

}  // namespace catimage
