#include "batch/manifest.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "catimage/io/atomic_file.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/strings.hpp"

namespace fs = std::filesystem;

namespace catimage {

std::string Manifest::file_name(const Shard& shard) {
  return shard.whole() ? std::string("manifest.jsonl") : fmt::format("manifest-{}of{}.jsonl", shard.index, shard.count);
}

Manifest::Manifest(const std::string& out_dir, const Shard& shard)
    : Manifest((fs::path(out_dir) / file_name(shard)).string()) {}

Manifest::Manifest(const std::string& path) : path_(path) {
  lock_path_ = path_ + ".lock";
  lock_fd_ = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) fail("{}: cannot create the lock file: {}", lock_path_, std::strerror(errno));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0)
    fail("{}: another catimage process is writing it (its lock {} is held); wait for it or write elsewhere", path_,
         lock_path_);
  // What a killed compact() left: only the holder of this lock writes the file.
  remove_stale_temps(fs::path(path_).parent_path().string(), {fs::path(path_).filename().string()});

  std::string text;
  if (fs::is_regular_file(path_)) text = read_file(path_);
  if (!text.empty() && text.back() != '\n') {
    const auto keep = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
    spdlog::warn("{}: dropping a partial last line ({} bytes, an interrupted write); that image is made again", path_,
                 text.size() - keep);
    text.resize(keep);
    fs::resize_file(path_, keep);
  }
  // A malformed line (not JSON, or no "file") is warned about once: the manifest is rewritten
  // without it, so later runs read it clean; the image it may have recorded has no record
  // left, so resume checks it and makes it again.
  std::string kept;
  std::size_t dropped = 0;
  for_each_record_line(text, [&](const std::string& line, long n) {
    json j;
    try {
      j = json::parse(line);
    } catch (const std::exception&) {
      spdlog::warn("{}: unreadable manifest line; removed from the manifest (the image it recorded, if any, is made "
                   "again)",
                   where(path_, n));
      ++dropped;
      return;
    }
    if (!j.is_object() || !j.contains("file") || !j["file"].is_string()) {
      spdlog::warn("{}: manifest line without a \"file\"; removed from the manifest", where(path_, n));
      ++dropped;
      return;
    }
    const std::string file = j["file"].get<std::string>();
    records_[file] = std::move(j);
    ++lines_;
    kept += line + "\n";
  });
  if (dropped) write_file_atomic(path_, kept);  // the record lines as they were, in their order
  open_for_append();
}

Manifest::~Manifest() {
  if (fd_ >= 0) ::close(fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the lock
}

void Manifest::open_for_append() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("{}: cannot append: {}", path_, std::strerror(errno));
}

const json* Manifest::record(const std::string& file) const {
  auto it = records_.find(file);
  return it == records_.end() ? nullptr : &it->second;
}

void Manifest::append(const json& record) {
  const std::string line = record.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t w = ::write(fd_, line.data() + done, line.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      const int err = errno;
      // Undo a partial line so the manifest stays whole lines; what was written before stays.
      if (done > 0) fs::resize_file(path_, fs::file_size(path_) - done);
      fail("{}: cannot append the record of {}: {} (disk full?); the images recorded so far are kept", path_,
           record.value("file", std::string("?")), w < 0 ? std::strerror(err) : "nothing written");
    }
    done += static_cast<std::size_t>(w);
  }
  if (::fsync(fd_) != 0) fail("{}: fsync failed: {}", path_, std::strerror(errno));
  records_[record["file"].get<std::string>()] = record;
  ++lines_;
}

void Manifest::compact() {
  if (lines_ == records_.size()) return;  // nothing superseded
  std::string text;
  for (const auto& [file, r] : records_) text += r.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  write_file_atomic(path_, text);
  lines_ = records_.size();
  open_for_append();
}

std::map<std::string, json> read_record_log(const std::string& path) {
  std::map<std::string, json> last;
  for_each_record_line(read_file(path), [&](const std::string& line, long) {
    try {
      json j = json::parse(line);
      if (!j.is_object() || !j.contains("file") || !j["file"].is_string()) return;
      const std::string file = j["file"].get<std::string>();
      last[file] = std::move(j);
    } catch (const std::exception&) {
    }
  });
  return last;
}

}  // namespace catimage
