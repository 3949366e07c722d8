#pragma once
// The lock of an output folder: OUT/job.lock, held by every generation job writing the folder
// for the job's life. The shards of one layout (`--shard K/N` with the same N; an unsharded
// run is N = 1) may write the folder together (a Slurm array); a job of another layout is
// refused while one writes, naming the folder and the writers (shard, pid, host), since
// `catimage merge` cannot join two layouts. The lock also tells a starting job whether any
// other job is live in the folder (then only its own stale temp files may be removed).
//
// How: open-file-description byte-range locks on OUT/job.lock, which the kernel releases when
// the process ends, kill -9 included. Byte 0 is held exclusively for the short start (check,
// then register); byte N is held shared by every live job of layout N. The file's text lists
// who registered (one "shard K/N pid P host H" line each), for the messages only.
#include <string>

#include "catimage/batch/shard.hpp"

namespace catimage {

class JobLock {
 public:
  // Fails (an input error, exit 2) if a job of another layout holds the folder's lock.
  JobLock(const std::string& out_dir, const Shard& shard);
  ~JobLock();
  JobLock(const JobLock&) = delete;
  JobLock& operator=(const JobLock&) = delete;

  static constexpr const char* kFileName = "job.lock";
  // No other job (of any layout or shard) was live in the folder when this one took the lock.
  bool alone() const { return alone_; }

 private:
  int fd_ = -1;
  bool alone_ = false;
};

}  // namespace catimage
