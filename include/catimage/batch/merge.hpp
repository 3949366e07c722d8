#pragma once
// Joining the shards of a generation job (`catimage merge OUT_DIR`): every shard records what
// it must produce in OUT_DIR/job[-KofN].json when it starts; merge checks that every shard of
// the job started (naming those that never ran apart from those that are incomplete), that every expected image has exactly one manifest record with its key and
// a complete PNG (every chunk's CRC, IEND, the key inside), and writes the joined manifest.
#include <cstddef>
#include <string>
#include <vector>

namespace catimage {

struct MergeReport {
  std::size_t expected = 0, complete = 0;
  int shards = 0;
  std::vector<int> never_ran;          // shards with neither a job file nor a manifest
  // One line each: first the shards (never ran, started without a job file, incomplete with
  // their image counts), then each missing or damaged image or record.
  std::vector<std::string> problems;
  std::string merged_manifest;        // path written ("" when nothing was written)
  bool ok() const { return problems.empty() && complete == expected; }
};

MergeReport merge_job(const std::string& out_dir);

}  // namespace catimage
