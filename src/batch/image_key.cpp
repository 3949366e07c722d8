#include "batch/image_key.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <vector>

#include "catimage/util/error.hpp"
#include "catimage/util/hash.hpp"

namespace fs = std::filesystem;

namespace catimage {

namespace {

constexpr std::uintmax_t kWhole = 1 << 20, kEdge = 64 << 10;

std::string read_range(std::ifstream& in, std::uintmax_t at, std::uintmax_t n) {
  std::string buf(n, '\0');
  in.seekg(static_cast<std::streamoff>(at));
  in.read(buf.data(), static_cast<std::streamsize>(n));
  buf.resize(static_cast<std::size_t>(in.gcount()));
  return buf;
}

std::string file_digest(const fs::path& p, std::uintmax_t size) {
  std::ifstream in(p, std::ios::binary);
  if (!in) fail("{}: cannot read", p.string());
  if (size <= kWhole) return fnv1a128_hex(read_range(in, 0, size));
  return fnv1a128_hex(read_range(in, 0, kEdge) + read_range(in, size - kEdge, kEdge));
}

}  // namespace

std::string FolderIdentity::of(const std::string& path) {
  if (path.empty()) return {};
  if (auto it = cache_.find(path); it != cache_.end()) return it->second;
  std::vector<std::string> lines;
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    const auto size = fs::file_size(path, ec);
    lines.push_back(fmt::format("{} {} {}", fs::path(path).filename().string(), size, file_digest(path, size)));
  } else {
    for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      const auto size = it->file_size(ec);
      // lexically: fs::relative would name a symlinked file (a hub cache snapshot's) by its blob
      lines.push_back(fmt::format("{} {} {}", it->path().lexically_relative(path).generic_string(), size,
                                  file_digest(it->path(), size)));
    }
    if (ec) fail("{}: cannot list: {}", path, ec.message());
  }
  std::sort(lines.begin(), lines.end());
  std::string all;
  for (const auto& l : lines) all += l + "\n";
  return cache_[path] = fnv1a128_hex(all);
}

json ImageIdentity::to_json() const {
  json j = {{"prompt", prompt},       {"negative_prompt", negative_prompt},
            {"candidate", candidate}, {"family", family},
            {"weights", weights},     {"vae", vae},
            {"scheduler", scheduler}, {"seed", seed},
            {"width", width},         {"height", height},
            {"steps", steps},         {"guidance", guidance},
            {"dtype", dtype}};
  for (const auto& [file, scale] : loras) j["lora"].push_back({{"weights", file}, {"scale", scale}});
  return j;
}

std::string ImageIdentity::key() const {
  // nlohmann's dump sorts object keys: a canonical form.
  return fnv1a128_hex(to_json().dump(-1, ' ', false, json::error_handler_t::replace));
}

}  // namespace catimage
