#pragma once
// The check resume trusts a generated PNG with: the expected size, the PNG signature, every
// chunk's CRC, IEND as the last chunk, and the "catimage-key" text chunk with the expected key.
// The whole file is read (a byte flipped in place keeps the size and both ends); `catimage
// merge` and `catimage score` check the same CRCs.
#include <cstdint>
#include <string>

namespace catimage {

inline constexpr const char* kImageKeyChunk = "catimage-key";

// Why the PNG at `path` is not exactly the recorded image ("" when it is): missing, another
// size, damaged (the chunk and byte), or holding another key.
std::string png_problem(const std::string& path, const std::string& key, std::uintmax_t bytes);

}  // namespace catimage
