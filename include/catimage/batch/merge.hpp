#pragma once
// Joining the shards of a generation job (`catimage merge OUT_DIR`): every shard records what
// it must produce in OUT_DIR/job[-KofN].json when it starts; merge checks that every shard of
// the job started, that every expected image has exactly one manifest record with its key and
// a complete PNG (every chunk's CRC, IEND, the key inside), and writes the joined manifest.
#include <cstddef>
#include <string>
#include <vector>

namespace catimage {

struct MergeReport {
  std::size_t expected = 0, complete = 0;
  int shards = 0;
  std::vector<std::string> problems;  // one line each: missing shard, image, or record
  std::string merged_manifest;        // path written ("" when nothing was written)
  bool ok() const { return problems.empty() && complete == expected; }
};

MergeReport merge_job(const std::string& out_dir);

}  // namespace catimage
