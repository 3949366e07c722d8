#include "catimage/util/paths.hpp"

#include <cstdlib>
#include <filesystem>
#include <vector>

namespace catimage {

std::string executable_dir() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : p.parent_path().string();
}

std::string find_resource(const std::string& rel) {
  namespace fs = std::filesystem;
  std::vector<fs::path> roots;
  if (const char* h = std::getenv("CATIMAGE_HOME")) roots.emplace_back(h);
  fs::path exe = executable_dir();
  roots.push_back(exe);
  roots.push_back(exe.parent_path());
  roots.push_back(exe.parent_path() / "share" / "catimage");
#ifdef CATIMAGE_SOURCE_DIR
  roots.emplace_back(CATIMAGE_SOURCE_DIR);
#endif
  for (const auto& r : roots) {
    std::error_code ec;
    if (fs::exists(r / rel, ec)) return (r / rel).lexically_normal().string();
  }
  return {};
}

}  // namespace catimage
