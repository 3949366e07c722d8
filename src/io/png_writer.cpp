#include "catimage/io/png_writer.hpp"

#include <cstring>

#include "catimage/io/atomic_file.hpp"
#include "catimage/io/json_file.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/strings.hpp"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#define STBIW_ASSERT(x)
#include <stb_image_write.h>

namespace catimage {

namespace {

std::uint32_t crc32(const unsigned char* p, std::size_t n, std::uint32_t c = 0xFFFFFFFFu) {
  static std::uint32_t table[256];
  static bool init = [] {
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t v = i;
      for (int k = 0; k < 8; ++k) v = (v & 1) ? 0xEDB88320u ^ (v >> 1) : v >> 1;
      table[i] = v;
    }
    return true;
  }();
  (void)init;
  for (std::size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c;
}

void put_u32(std::string& s, std::uint32_t v) {
  for (int k = 3; k >= 0; --k) s += static_cast<char>((v >> (8 * k)) & 0xFF);
}

std::uint32_t get_u32(const std::string& s, std::size_t at) {
  std::uint32_t v = 0;
  for (int k = 0; k < 4; ++k) v = (v << 8) | static_cast<unsigned char>(s[at + k]);
  return v;
}

// tEXt for ASCII values; iTXt (UTF-8) when the value has other characters.
std::string text_chunk(const std::string& key, const std::string& value) {
  if (key.empty() || key.size() > 79) fail("PNG text key \"{}\" must be 1 to 79 characters", key);
  // A NUL ends the key in the chunk (a reader would see another key and value); PNG keys are
  // printable.
  for (unsigned char ch : key)
    if (ch < 0x20 || ch == 0x7F) fail("PNG text key \"{}\" has a NUL or control character", excerpt(key, 79));
  bool ascii = true;
  for (unsigned char ch : value) ascii &= ch < 0x80;
  const std::string z(1, '\0');
  std::string body = ascii ? "tEXt" + key + z + value : "iTXt" + key + z + z + z + z + z + value;
  std::string out;
  put_u32(out, static_cast<std::uint32_t>(body.size() - 4));
  out += body;
  put_u32(out, crc32(reinterpret_cast<const unsigned char*>(body.data()), body.size()) ^ 0xFFFFFFFFu);
  return out;
}

}  // namespace

std::string encode_png(const std::uint8_t* rgb, int width, int height,
                       const std::vector<std::pair<std::string, std::string>>& text) {
  if (width <= 0 || height <= 0) fail("cannot write a {}x{} image", width, height);
  int len = 0;
  unsigned char* png = stbi_write_png_to_mem(rgb, width * 3, width, height, 3, &len);
  if (!png || len < 33) fail("PNG encoding failed for a {}x{} image", width, height);
  std::string bytes(reinterpret_cast<char*>(png), static_cast<std::size_t>(len));
  STBIW_FREE(png);
  // tEXt chunks go right after IHDR (8-byte signature + 25-byte IHDR chunk).
  std::string chunks;
  for (const auto& [k, v] : text) chunks += text_chunk(k, v);
  bytes.insert(33, chunks);
  return bytes;
}

void write_png(const std::string& path, const std::uint8_t* rgb, int width, int height,
               const std::vector<std::pair<std::string, std::string>>& text) {
  write_file_atomic(path, encode_png(rgb, width, height, text));
}

PngInfo inspect_png(const std::string& s) {
  PngInfo info;
  static const char sig[] = "\x89PNG\r\n\x1a\n";
  if (s.size() < 8 || std::memcmp(s.data(), sig, 8) != 0) {
    info.problem = "not a PNG file";
    return info;
  }
  std::size_t at = 8;
  while (at + 12 <= s.size()) {
    const std::size_t n = get_u32(s, at);
    if (n > s.size() - at - 12) {
      info.problem = fmt::format("truncated chunk at byte {}", at);
      return info;
    }
    const std::string type = s.substr(at + 4, 4);
    const std::uint32_t crc = get_u32(s, at + 8 + n);
    if ((crc32(reinterpret_cast<const unsigned char*>(s.data() + at + 4), n + 4) ^ 0xFFFFFFFFu) != crc) {
      info.problem = fmt::format("bad CRC in the {} chunk at byte {}", type, at);
      return info;
    }
    if (type == "tEXt" || type == "iTXt") {
      std::string body = s.substr(at + 8, n);
      auto z = body.find('\0');
      if (z == std::string::npos) {
        info.problem = fmt::format("{} chunk without a key separator", type);
        return info;
      }
      std::string value = body.substr(z + 1);
      if (type == "iTXt") {  // compression flag, method, language\0, translated key\0, text
        auto lang = value.size() >= 2 && value[0] == 0 ? value.find('\0', 2) : std::string::npos;
        auto tkey = lang == std::string::npos ? lang : value.find('\0', lang + 1);
        if (tkey == std::string::npos) {
          info.problem = "malformed or compressed iTXt chunk";
          return info;
        }
        value = value.substr(tkey + 1);
      }
      info.text.emplace_back(body.substr(0, z), value);
    }
    at += 12 + n;
    if (type == "IEND") {
      info.complete = at == s.size();
      if (!info.complete) info.problem = fmt::format("{} bytes after IEND", s.size() - at);
      return info;
    }
  }
  info.problem = "no IEND chunk (truncated file)";
  return info;
}

std::vector<std::pair<std::string, std::string>> read_png_text(const std::string& path) {
  PngInfo info = inspect_png(read_file(path));
  if (!info.problem.empty()) fail("{}: {}", path, info.problem);
  return info.text;
}

}  // namespace catimage
