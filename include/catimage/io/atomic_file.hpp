#pragma once
// Writes a file atomically: contents go to "<path>.tmp.<pid>" and are renamed over `path`
// only on commit(), so a crash never leaves a half-written output.
#include <fstream>
#include <string>

namespace catimage {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();  // discards the temp file unless committed
  std::ofstream& stream() { return out_; }
  void commit();

 private:
  std::string path_, tmp_;
  std::ofstream out_;
  bool committed_ = false;
};

void write_file_atomic(const std::string& path, const std::string& contents);

}  // namespace catimage
