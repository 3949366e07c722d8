#include "catimage/util/hash.hpp"

#include <spdlog/fmt/fmt.h>

namespace catimage {

std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t h) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string fnv1a64_hex(std::string_view bytes) { return fmt::format("{:016x}", fnv1a64(bytes)); }

std::string fnv1a128_hex(std::string_view bytes) {
  using u128 = unsigned __int128;
  const u128 prime = (u128{1} << 88) + 0x13B;
  u128 h = (u128{0x6c62272e07bb0142ULL} << 64) | 0x62b821756295c58dULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= prime;
  }
  return fmt::format("{:016x}{:016x}", static_cast<std::uint64_t>(h >> 64), static_cast<std::uint64_t>(h));
}

}  // namespace catimage
