#include "batch/png_check.hpp"

#include <cstring>
#include <filesystem>
#include <fstream>

namespace catimage {

bool png_looks_complete(const std::string& path, const std::string& key, std::uintmax_t bytes) {
  std::error_code ec;
  if (std::filesystem::file_size(path, ec) != bytes || ec || bytes < 8 + 25 + 12) return false;
  std::ifstream in(path, std::ios::binary);
  // signature, IHDR (25 bytes), then the key chunk: length, "tEXt", "catimage-key\0", key, CRC
  const std::string chunk_key = std::string(kImageKeyChunk) + '\0' + key;
  std::string head(8 + 25 + 8 + chunk_key.size(), '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  if (in.gcount() != static_cast<std::streamsize>(head.size())) return false;
  if (std::memcmp(head.data(), "\x89PNG\r\n\x1a\n", 8) != 0) return false;
  if (head.compare(8 + 25 + 4, 4, "tEXt") != 0 || head.compare(8 + 25 + 8, chunk_key.size(), chunk_key) != 0)
    return false;
  static const char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', '\xAE', '\x42', '\x60', '\x82'};
  char tail[12];
  in.seekg(static_cast<std::streamoff>(bytes - 12));
  in.read(tail, 12);
  return in.gcount() == 12 && std::memcmp(tail, iend, 12) == 0;
}

}  // namespace catimage
