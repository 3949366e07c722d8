#pragma once
// A fast completeness check of a generated PNG for resume, reading only its first and last
// bytes: the PNG signature, the "catimage-key" text chunk right after IHDR with the expected
// key, the expected size, and the IEND chunk as the file's last 12 bytes. (PNGs are written
// to a temp file, fsync'ed and renamed, so a torn file can only come from outside; `catimage
// merge` checks every chunk's CRC.)
#include <cstdint>
#include <string>

namespace catimage {

inline constexpr const char* kImageKeyChunk = "catimage-key";

bool png_looks_complete(const std::string& path, const std::string& key, std::uintmax_t bytes);

}  // namespace catimage
