// How the test binary is linked: where the dynamic linker binds the C++ library calls catimage
// makes. PyTorch's wheels export copies of libstdc++'s std::filesystem functions
// (pytorch/pytorch#133437); bound to those, std::filesystem::remove_all died with SIGSEGV on the
// CUDA build. CMakeLists.txt makes libstdc++.so the first library every catimage executable needs.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace {

namespace fs = std::filesystem;

// The file of the object that defines the function at `address` ("" when dladdr does not know).
std::string defining_object(const void* address) {
  Dl_info info{};
  if (dladdr(address, &info) == 0 || info.dli_fname == nullptr) return "";
  return info.dli_fname;
}

std::string self() { return fs::read_symlink("/proc/self/exe").string(); }

bool from_libstdcxx_or_self(const std::string& object) {
  const std::string name = fs::path(object).filename().string();
  return name.rfind("libstdc++", 0) == 0 || (!object.empty() && fs::equivalent(object, self()));
}

}  // namespace

TEST(Toolchain, StdFilesystemBindsToLibstdcxx) {
  using RemoveAll = std::uintmax_t (*)(const fs::path&);
  using RemoveAllEc = std::uintmax_t (*)(const fs::path&, std::error_code&);
  using CreateDirectories = bool (*)(const fs::path&);
  using Status = fs::file_status (*)(const fs::path&);
  // Addresses taken through the GOT, which the dynamic linker fills as it does the PLT.
  const std::pair<const char*, const void*> calls[] = {
      {"remove_all(path)", reinterpret_cast<const void*>(static_cast<RemoveAll>(&fs::remove_all))},
      {"remove_all(path, error_code)", reinterpret_cast<const void*>(static_cast<RemoveAllEc>(&fs::remove_all))},
      {"create_directories(path)",
       reinterpret_cast<const void*>(static_cast<CreateDirectories>(&fs::create_directories))},
      {"status(path)", reinterpret_cast<const void*>(static_cast<Status>(&fs::status))},
  };
  for (const auto& [name, address] : calls) {
    const auto object = defining_object(address);
    EXPECT_TRUE(from_libstdcxx_or_self(object))
        << "std::filesystem::" << name << " is bound to " << (object.empty() ? "an unknown object" : object)
        << ", not to libstdc++: link libstdc++.so before libtorch (CMakeLists.txt, catimage_torch's link options)";
  }
  // And the call works on a real tree (the SIGSEGV's case: a folder with files in subfolders).
  const auto dir = fs::temp_directory_path() / ("catimage-toolchain-" + std::to_string(::getpid()));
  fs::create_directories(dir / "a" / "b");
  for (const char* f : {"x.txt", "a/y.txt", "a/b/z.txt"}) std::ofstream(dir / f) << f;
  EXPECT_EQ(fs::remove_all(dir), 6u);
  EXPECT_FALSE(fs::exists(dir));
}
