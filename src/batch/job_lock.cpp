#include "batch/job_lock.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <spdlog/fmt/fmt.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <vector>

#include "catimage/util/error.hpp"

namespace fs = std::filesystem;

namespace catimage {

namespace {

struct flock byte_range(short type, off_t start, off_t len) {
  struct flock l {};
  l.l_type = type;
  l.l_whence = SEEK_SET;
  l.l_start = start;
  l.l_len = len;  // 0: to the end of any file
  l.l_pid = 0;    // required by the F_OFD_* commands
  return l;
}

void set_lock(int fd, int cmd, short type, off_t start, off_t len, const std::string& path) {
  struct flock l = byte_range(type, start, len);
  while (::fcntl(fd, cmd, &l) != 0) {
    if (errno == EINTR) continue;
    fail("{}: cannot lock: {}", path, std::strerror(errno));
  }
}

// The start of a lock another job holds on [start, start + len) (len 0: to the end), or -1.
off_t held_in(int fd, off_t start, off_t len, const std::string& path) {
  struct flock l = byte_range(F_WRLCK, start, len);
  if (::fcntl(fd, F_OFD_GETLK, &l) != 0) fail("{}: cannot query its lock: {}", path, std::strerror(errno));
  return l.l_type == F_UNLCK ? -1 : l.l_start;
}

std::string layout(int count, int index = -1) {
  if (count == 1) return "unsharded";
  return index < 0 ? fmt::format("--shard K/{}", count) : fmt::format("--shard {}/{}", index, count);
}

std::string host_name() {
  char buf[HOST_NAME_MAX + 1] = {};
  return ::gethostname(buf, sizeof buf - 1) == 0 ? std::string(buf) : std::string("?");
}

std::string read_all(int fd) {
  std::string text;
  char buf[4096];
  for (off_t at = 0;;) {
    const ssize_t n = ::pread(fd, buf, sizeof buf, at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    at += n;
  }
  return text;
}

// The registered writers of layout `count` ("--shard 0/2, pid 41 on host n7"), leaving out
// processes of this host that have ended.
std::vector<std::string> writers(const std::string& text, int count) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  const std::string here = host_name();
  while (std::getline(in, line)) {
    int k = 0, n = 0;
    long pid = 0;
    char host[256] = {};
    if (std::sscanf(line.c_str(), "shard %d/%d pid %ld host %255s", &k, &n, &pid, host) != 4 || n != count) continue;
    if (here == host && pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) continue;
    out.push_back(fmt::format("{}, pid {} on host {}", layout(n, k), pid, host));
  }
  return out;
}

}  // namespace

JobLock::JobLock(const std::string& out_dir, const Shard& shard) {
  const std::string path = (fs::path(out_dir) / kFileName).string();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("{}: cannot create the folder's lock file: {}", path, std::strerror(errno));
  try {
    set_lock(fd_, F_OFD_SETLKW, F_WRLCK, 0, 1, path);  // the start: one job at a time, briefly
    const off_t n = shard.count;
    off_t other = n > 1 ? held_in(fd_, 1, n - 1, path) : -1;  // a job of fewer shards, or of more
    if (other < 0) other = held_in(fd_, n + 1, 0, path);
    if (other > 0 && other <= INT_MAX) {
      auto who = writers(read_all(fd_), static_cast<int>(other));
      if (who.empty()) who.push_back(layout(static_cast<int>(other)) + ", pid unknown");
      fail(
          "{}: another catimage job is writing this folder ({}); this run ({}) would mix two shard layouts, which "
          "`catimage merge` cannot join: wait for it to finish or use another --out",
          out_dir, fmt::join(who, "; "), layout(shard.count, shard.index));
    }
    alone_ = held_in(fd_, 1, 0, path) < 0;
    set_lock(fd_, F_OFD_SETLK, F_RDLCK, n, 1, path);  // held while this job lives
    if (alone_ && ::ftruncate(fd_, 0) != 0) fail("{}: cannot write: {}", path, std::strerror(errno));
    const std::string line = fmt::format("shard {}/{} pid {} host {}\n", shard.index, shard.count, ::getpid(), host_name());
    const off_t end = ::lseek(fd_, 0, SEEK_END);
    if (end < 0 || ::pwrite(fd_, line.data(), line.size(), end) != static_cast<ssize_t>(line.size()))
      fail("{}: cannot write: {}", path, std::strerror(errno));
    set_lock(fd_, F_OFD_SETLK, F_UNLCK, 0, 1, path);
  } catch (...) {
    ::close(fd_);  // releases every lock taken here
    throw;
  }
}

JobLock::~JobLock() {
  if (fd_ >= 0) ::close(fd_);  // releases this job's locks
}

}  // namespace catimage
