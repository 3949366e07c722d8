#pragma once
// Writes a file atomically and durably: contents go to a uniquely named temp file beside
// `path` ("<path>.tmp.XXXXXX", created exclusively, so processes sharing a PID namespace
// never clobber each other's), which commit() checks for write errors, fsyncs, renames over
// `path` and makes durable by fsyncing the directory. A crash leaves either the old file or
// the new one, never a half-written or zero-length output.
#include <cstddef>
#include <fstream>
#include <set>
#include <string>

namespace catimage {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();  // discards the temp file unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  std::ofstream& stream() { return out_; }
  const std::string& temp_path() const { return tmp_; }
  void commit();

 private:
  std::string path_, tmp_;
  std::ofstream out_;
  bool committed_ = false;
};

void write_file_atomic(const std::string& path, const std::string& contents);

// Removes the temp files a killed writer left beside `files` (paths relative to `dir`):
// "<file>.tmp.*" in the file's folder; other files and the temps of other files are kept.
// Call it only where no live process can be writing those files (their writer's lock held).
// Returns how many were removed; a file that cannot be removed is left (it is only clutter).
std::size_t remove_stale_temps(const std::string& dir, const std::set<std::string>& files);

// fsync of a file's data, then of the directory holding it (so a rename is durable).
void sync_file(const std::string& path);
void sync_directory(const std::string& dir);

}  // namespace catimage
