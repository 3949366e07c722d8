#pragma once
// A Hugging Face hub cache made in a test: repos laid out as huggingface_hub leaves them
// (models--org--name/refs/main naming a commit, snapshots/<commit>/ holding the files; here
// copies, where huggingface_hub links them into blobs/, which tests/test_model_ref.cpp covers),
// with HF_HUB_CACHE naming it for the test and the catimage processes it runs, and put back after.
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "test_util.hpp"

namespace catimage::test {

class HubCache {
 public:
  explicit HubCache(const std::filesystem::path& root) : root_(root) {
    if (const char* v = std::getenv("HF_HUB_CACHE")) saved_ = v;
    std::filesystem::create_directories(root_);
    setenv("HF_HUB_CACHE", root_.c_str(), 1);
  }
  ~HubCache() {
    if (saved_)
      setenv("HF_HUB_CACHE", saved_->c_str(), 1);
    else
      unsetenv("HF_HUB_CACHE");
  }
  HubCache(const HubCache&) = delete;
  HubCache& operator=(const HubCache&) = delete;

  // `from` (a folder: its contents; or one file) as `to` in the snapshot of repo `org/name`
  // ("" : a folder's contents at the snapshot's root, a file under its own name).
  void put(const std::string& repo, const std::filesystem::path& from, const std::string& to = "") {
    namespace fs = std::filesystem;
    const auto slash = repo.find('/');
    const fs::path dir = root_ / ("models--" + repo.substr(0, slash) + "--" + repo.substr(slash + 1));
    const std::string commit(40, 'e');
    const fs::path snap = dir / "snapshots" / commit;
    fs::create_directories(dir / "refs");
    write(dir / "refs" / "main", commit);
    if (fs::is_directory(from)) {
      fs::create_directories(snap / to);
      fs::copy(from, snap / to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
    } else {
      const fs::path file = snap / (to.empty() ? from.filename() : fs::path(to));
      fs::create_directories(file.parent_path());
      fs::copy_file(from, file, fs::copy_options::overwrite_existing);
    }
  }
  // Removes repo `org/name` from the cache.
  void remove(const std::string& repo) {
    const auto slash = repo.find('/');
    std::filesystem::remove_all(root_ / ("models--" + repo.substr(0, slash) + "--" + repo.substr(slash + 1)));
  }
  const std::filesystem::path& root() const { return root_; }

 private:
  std::filesystem::path root_;
  std::optional<std::string> saved_;
};

}  // namespace catimage::test
