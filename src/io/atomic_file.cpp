#include "catimage/io/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include "catimage/util/error.hpp"

namespace catimage {

namespace fs = std::filesystem;

void sync_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("{}: cannot open to sync: {}", path, std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) fail("{}: fsync failed: {}", path, std::strerror(err));
}

void sync_directory(const std::string& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // nothing to make durable through (e.g. no permission to read it)
  ::fsync(fd);         // some file systems refuse fsync on directories; the rename still stands
  ::close(fd);
}

namespace {

// mkstemp creates 0600 files; a file written through here should get the mode a plain
// open(O_CREAT, 0666) would give it, so shared output folders stay readable by the group.
// The umask is read from /proc (Linux >= 4.7) because reading it through umask() means
// setting it for a moment, which would race with other threads creating files.
mode_t default_file_mode() {
  mode_t mask = 022;
  bool found = false;
  if (std::FILE* f = std::fopen("/proc/self/status", "r")) {
    char line[256];
    unsigned value = 0;
    while (std::fgets(line, sizeof line, f))
      if (std::sscanf(line, "Umask: %o", &value) == 1) {
        mask = static_cast<mode_t>(value);
        found = true;
        break;
      }
    std::fclose(f);
  }
  if (!found) {
    mask = ::umask(022);
    ::umask(mask);
  }
  return static_cast<mode_t>(0666 & ~mask);
}

}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  auto dir = fs::path(path_).parent_path();
  if (!dir.empty()) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) fail("{}: cannot create directory {}: {}", path_, dir.string(), ec.message());
  }
  std::string templ = path_ + ".tmp.XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  int fd = ::mkstemp(buf.data());
  if (fd < 0) fail("{}: cannot create a temporary file beside it: {}", path_, std::strerror(errno));
  ::fchmod(fd, default_file_mode());  // best effort: a file system without modes keeps its own
  ::close(fd);
  tmp_ = buf.data();
  out_.open(tmp_, std::ios::binary | std::ios::trunc);
  if (!out_) {
    std::remove(tmp_.c_str());
    fail("{}: cannot write: {}", tmp_, std::strerror(errno));
  }
}

AtomicFile::~AtomicFile() {
  if (!committed_) {
    out_.close();
    std::remove(tmp_.c_str());
  }
}

void AtomicFile::commit() {
  out_.flush();
  if (!out_) fail("{}: write failed (disk full?)", tmp_);
  out_.close();
  if (out_.fail()) fail("{}: write failed on close (disk full?)", tmp_);
  sync_file(tmp_);
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0)
    fail("{}: cannot rename into place: {}", path_, std::strerror(errno));
  committed_ = true;
  sync_directory(fs::path(path_).parent_path().string());
}

void write_file_atomic(const std::string& path, const std::string& contents) {
  AtomicFile f(path);
  f.stream() << contents;
  f.commit();
}

std::size_t remove_stale_temps(const std::string& dir, const std::set<std::string>& files) {
  std::set<fs::path> folders;
  for (const auto& f : files) folders.insert(fs::path(f).parent_path());
  const fs::path base = dir.empty() ? fs::path(".") : fs::path(dir);
  std::size_t removed = 0;
  for (const auto& rel : folders) {
    std::error_code ec;
    fs::directory_iterator it(base / rel, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      const std::string name = (rel / it->path().filename()).generic_string();
      const auto at = name.rfind(".tmp.");
      if (at == std::string::npos || !files.count(name.substr(0, at))) continue;
      std::error_code rm;
      if (fs::remove(it->path(), rm)) ++removed;
    }
  }
  return removed;
}

}  // namespace catimage
