#pragma once
// Non-cryptographic content hashes (FNV-1a) for checksums, cache keys and image keys.
#include <cstdint>
#include <string>
#include <string_view>

namespace catimage {

std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t h = 1469598103934665603ULL);
std::string fnv1a64_hex(std::string_view bytes);   // 16 hex digits
std::string fnv1a128_hex(std::string_view bytes);  // 32 hex digits

}  // namespace catimage
