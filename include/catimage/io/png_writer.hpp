#pragma once
// PNG output: 8-bit RGB via stb_image_write, with text chunks (tEXt, or iTXt for UTF-8) (e.g. "parameters", the
// generation settings in the usual "prompt / Negative prompt: / Steps: ..." form), written
// atomically (temp file + rename).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace catimage {

// The PNG bytes for a width x height RGB image (rows top to bottom) with tEXt chunks.
std::string encode_png(const std::uint8_t* rgb, int width, int height,
                       const std::vector<std::pair<std::string, std::string>>& text = {});

void write_png(const std::string& path, const std::uint8_t* rgb, int width, int height,
               const std::vector<std::pair<std::string, std::string>>& text = {});

// What a PNG file holds, checked without decoding pixels: signature, every chunk's bounds and
// CRC, and IEND as the last chunk. Never throws.
struct PngInfo {
  bool complete = false;
  std::string problem;  // why it is not complete ("" when complete)
  std::vector<std::pair<std::string, std::string>> text;
};
PngInfo inspect_png(const std::string& bytes);

// The tEXt/iTXt chunks of a PNG file (for tests and tools); fails on a file that is not a complete PNG.
std::vector<std::pair<std::string, std::string>> read_png_text(const std::string& path);

}  // namespace catimage
