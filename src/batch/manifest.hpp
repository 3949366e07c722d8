#pragma once
// A shard's manifest: one JSON line per image written (file, key, id, prompt, candidate,
// seed, settings, bytes, seconds). Opening it takes the shard's lock (two processes never
// write the same shard), drops a partial last line left by a crash (with a warning), removes
// malformed lines (warning once per line, naming it, and rewriting the file atomically), and
// reads back the key recorded for each file (the last line for a file wins). Appends are
// whole lines, checked and fsync'ed; a write error is fatal and loses nothing already written.
#include <map>
#include <string>

#include "catimage/batch/shard.hpp"
#include "catimage/io/json_file.hpp"

namespace catimage {

class Manifest {
 public:
  // out_dir/manifest.jsonl, or manifest-KofN.jsonl for a shard of N > 1.
  Manifest(const std::string& out_dir, const Shard& shard);
  // Any record log of this form at `path` (e.g. a score file), keyed by "file" likewise.
  explicit Manifest(const std::string& path);
  ~Manifest();
  Manifest(const Manifest&) = delete;
  Manifest& operator=(const Manifest&) = delete;

  static std::string file_name(const Shard& shard);
  const std::string& path() const { return path_; }
  // The record last written for `file`, or nullptr.
  const json* record(const std::string& file) const;
  void append(const json& record);
  // Rewrites the manifest atomically with one line per file (its last), in file order.
  void compact();

 private:
  void open_for_append();
  std::string path_, lock_path_;
  int fd_ = -1, lock_fd_ = -1;
  std::map<std::string, json> records_;
  std::size_t lines_ = 0;
};

// Reads a record log without locking it (merge, table): the last whole line per "file";
// a partial last line, unreadable lines and lines without "file" are not records.
std::map<std::string, json> read_record_log(const std::string& path);

}  // namespace catimage
