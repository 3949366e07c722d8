#pragma once
// The one rule for a seed given as text or JSON: an integer in [0, 2^64). Prompt files (a
// JSONL/JSON "seed", a CSV seed cell) and every --seed option refuse anything else with the
// same words, kSeedRule; a negative seed is never wrapped to 2^64 - |seed|.
#include <cstdint>
#include <optional>
#include <string>

namespace catimage {

inline constexpr const char* kSeedRule = "is not an integer in [0, 2^64)";

// Decimal digits only (no sign, no fraction or exponent), below 2^64; nullopt otherwise.
std::optional<std::uint64_t> parse_seed(const std::string& text);

}  // namespace catimage
