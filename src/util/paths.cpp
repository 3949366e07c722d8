#include "catimage/util/paths.hpp"

#include <cstdlib>
#include <filesystem>

namespace catimage {

namespace fs = std::filesystem;

std::string executable_dir() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : p.parent_path().string();
}

std::vector<std::string> resource_roots() {
  std::vector<std::string> roots;
  if (const char* h = std::getenv("CATIMAGE_HOME"); h && *h) roots.emplace_back(h);
  const fs::path exe = executable_dir();
  roots.push_back((exe / "share" / "catimage").string());
  roots.push_back((exe.parent_path() / "share" / "catimage").string());
  return roots;
}

std::string find_resource(const std::string& rel) {
  for (const auto& r : resource_roots()) {
    std::error_code ec;
    if (fs::exists(fs::path(r) / rel, ec)) return (fs::path(r) / rel).lexically_normal().string();
  }
  return {};
}

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  const bool same = fs::equivalent(a, b, ec);
  return !ec && same;
}

}  // namespace catimage
