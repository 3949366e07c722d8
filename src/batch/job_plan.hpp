#pragma once
// What one shard of a generation job must produce, written to OUT_DIR/job.json (job-KofN.json
// for a shard) when it starts, so that `catimage merge` knows every expected image even for
// shards that never ran far.
#include <string>
#include <vector>

#include "catimage/batch/shard.hpp"

namespace catimage {

struct JobPlanItem {
  std::string file, key, id, candidate;
};

struct JobPlan {
  Shard shard;
  std::vector<JobPlanItem> items;

  static std::string file_name(const Shard& shard);
  void write(const std::string& out_dir) const;  // atomically
};

// Every job*.json in the folder; errors name the file and key.
std::vector<JobPlan> read_job_plans(const std::string& out_dir);

}  // namespace catimage
