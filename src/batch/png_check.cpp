#include "batch/png_check.hpp"

#include <spdlog/fmt/fmt.h>

#include <filesystem>

#include "catimage/io/json_file.hpp"
#include "catimage/io/png_writer.hpp"
#include "catimage/util/error.hpp"

namespace catimage {

std::string png_problem(const std::string& path, const std::string& key, std::uintmax_t bytes) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return "missing (" + ec.message() + ")";
  if (size != bytes) return fmt::format("{} bytes, the manifest records {}", size, bytes);
  std::string data;
  try {
    data = read_file(path);
  } catch (const Error& e) {
    return e.what();
  }
  if (data.size() != bytes) return fmt::format("{} bytes read, the manifest records {}", data.size(), bytes);
  const PngInfo png = inspect_png(data);
  if (!png.complete) return "damaged PNG: " + png.problem;
  for (const auto& [k, v] : png.text)
    if (k == kImageKeyChunk) return v == key ? std::string() : "holds another image (key " + v + ")";
  return fmt::format("no {} text chunk", kImageKeyChunk);
}

}  // namespace catimage
