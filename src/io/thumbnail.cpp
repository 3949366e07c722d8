#include "catimage/io/thumbnail.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "catimage/util/error.hpp"

// Own static copies (internal linkage), as scoring/load_rgb and io/png_writer keep theirs.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_FAILURE_USERMSG
#define STBI_NO_STDIO
#include <stb_image.h>
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#define STBI_WRITE_NO_STDIO
#include <stb_image_write.h>

namespace catimage {

namespace {

constexpr int kJpegQuality = 85;

bool is_png(const std::string& bytes) { return bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0; }

// Each output pixel the mean of the source pixels whose index range it covers.
std::vector<unsigned char> shrink(const unsigned char* rgb, int w, int h, int tw, int th) {
  std::vector<unsigned char> out(static_cast<std::size_t>(tw) * th * 3);
  for (int y = 0; y < th; ++y) {
    const int y0 = static_cast<int>(static_cast<long long>(y) * h / th);
    const int y1 = std::max(y0 + 1, static_cast<int>(static_cast<long long>(y + 1) * h / th));
    for (int x = 0; x < tw; ++x) {
      const int x0 = static_cast<int>(static_cast<long long>(x) * w / tw);
      const int x1 = std::max(x0 + 1, static_cast<int>(static_cast<long long>(x + 1) * w / tw));
      unsigned long sum[3] = {0, 0, 0};
      for (int sy = y0; sy < y1; ++sy)
        for (int sx = x0; sx < x1; ++sx)
          for (int c = 0; c < 3; ++c) sum[c] += rgb[(static_cast<std::size_t>(sy) * w + sx) * 3 + c];
      const unsigned long n = static_cast<unsigned long>(y1 - y0) * (x1 - x0);
      for (int c = 0; c < 3; ++c)
        out[(static_cast<std::size_t>(y) * tw + x) * 3 + c] = static_cast<unsigned char>((sum[c] + n / 2) / n);
    }
  }
  return out;
}

void append_bytes(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<std::size_t>(size));
}

}  // namespace

Thumbnail make_thumbnail(const std::string& bytes, int max_side, const std::string& who) {
  if (max_side < 1) fail("{}: a thumbnail's largest side must be at least 1 pixel, got {}", who, max_side);
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int len = static_cast<int>(std::min<std::size_t>(bytes.size(), 0x7fffffff));
  int w = 0, h = 0, n = 0;
  if (!stbi_info_from_memory(data, len, &w, &h, &n))
    fail("{}: cannot read the image ({})", who, stbi_failure_reason() ? stbi_failure_reason() : "unknown");
  Thumbnail t;
  if (w <= max_side && h <= max_side && is_png(bytes)) {
    t.mime = "image/png";
    t.bytes = bytes;
    t.width = w;
    t.height = h;
    return t;
  }
  std::unique_ptr<stbi_uc, void (*)(void*)> px(stbi_load_from_memory(data, len, &w, &h, &n, 3), stbi_image_free);
  if (!px) fail("{}: cannot decode the image ({})", who, stbi_failure_reason() ? stbi_failure_reason() : "unknown");
  const double scale = std::min(1.0, static_cast<double>(max_side) / std::max(w, h));
  t.width = std::max(1, static_cast<int>(std::lround(w * scale)));
  t.height = std::max(1, static_cast<int>(std::lround(h * scale)));
  const std::vector<unsigned char> small = shrink(px.get(), w, h, t.width, t.height);
  t.mime = "image/jpeg";
  if (!stbi_write_jpg_to_func(append_bytes, &t.bytes, t.width, t.height, 3, small.data(), kJpegQuality))
    fail("{}: cannot encode its thumbnail", who);
  return t;
}

}  // namespace catimage
