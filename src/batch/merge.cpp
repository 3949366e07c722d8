#include "catimage/batch/merge.hpp"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <vector>

#include "batch/job_plan.hpp"
#include "batch/manifest.hpp"
#include "batch/png_check.hpp"
#include "catimage/io/atomic_file.hpp"
#include "catimage/io/json_file.hpp"
#include "catimage/io/png_writer.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/strings.hpp"

namespace fs = std::filesystem;

namespace catimage {

namespace {

// Every record of the job's shard manifests, by file (across manifests, to find duplicates).
std::map<std::string, std::vector<json>> read_manifests(const std::string& dir, int shards) {
  std::map<std::string, std::vector<json>> by_file;
  for (int k = 0; k < shards; ++k) {
    const auto path = fs::path(dir) / Manifest::file_name(Shard{k, shards});
    if (!fs::is_regular_file(path)) continue;
    auto last = read_record_log(path.string());  // within one manifest the last line for a file wins
    for (auto& [file, j] : last) by_file[file].push_back(std::move(j));
  }
  return by_file;
}

}  // namespace

MergeReport merge_job(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail("{}: {}", dir, ec ? "cannot be read: " + ec.message() : "not a folder");
  MergeReport rep;
  std::vector<JobPlan> plans = read_job_plans(dir);
  if (plans.empty())
    fail("{}: no job*.json: not the output folder of `catimage generate` / `route --generate` (or no shard started)",
         dir);
  rep.shards = plans.front().shard.count;
  std::map<int, const JobPlan*> by_shard;
  for (const auto& p : plans) {
    if (p.shard.count != rep.shards)
      fail("{}: shards of different jobs ({} and {} shards) share this folder; merge them apart", dir, rep.shards,
           p.shard.count);
    by_shard[p.shard.index] = &p;
  }
  // Shard-level lines first (a shard that never ran, one that started without its job file,
  // one that started and is incomplete), then the images.
  std::vector<std::string> image_problems;
  for (int k = 0; k < rep.shards; ++k) {
    const Shard shard{k, rep.shards};
    if (by_shard.count(k)) continue;
    const std::string job_file = JobPlan::file_name(shard), manifest_file = Manifest::file_name(shard);
    const std::string rerun = fmt::format(
        "run the other shards' command (`catimage generate ...` or `catimage route --generate ...`) with --shard "
        "{}/{} --out {}",
        k, rep.shards, dir);
    if (fs::exists(fs::path(dir) / manifest_file, ec)) {
      rep.problems.push_back(fmt::format(
          "shard {}/{} started ({} is there) but has no {} (stopped before writing it, or it was removed): its images "
          "are unknown; {}",
          k, rep.shards, manifest_file, job_file, rerun));
    } else {
      rep.never_ran.push_back(k);
      rep.problems.push_back(
          fmt::format("shard {}/{} never ran: no {} or {} of it in {}; {}", k, rep.shards, job_file, manifest_file, dir,
                      rerun));
    }
  }
  auto records = read_manifests(dir, rep.shards);
  std::vector<json> merged;
  for (const auto& [k, plan_ptr] : by_shard) {
    const JobPlan& plan = *plan_ptr;
    const std::size_t complete_before = rep.complete;
    for (const auto& item : plan.items) {
      ++rep.expected;
      auto it = records.find(item.file);
      std::vector<const json*> matching;
      if (it != records.end())
        for (const auto& j : it->second)
          if (j.value("key", "") == item.key) matching.push_back(&j);
      const std::string who =
          fmt::format("{} (id \"{}\", shard {}/{})", item.file, item.id, plan.shard.index, plan.shard.count);
      if (matching.empty()) {
        image_problems.push_back(who + ": no manifest record with its key (not generated yet)");
        continue;
      }
      if (matching.size() > 1) {
        image_problems.push_back(fmt::format("{}: {} manifest records", who, matching.size()));
        continue;
      }
      const std::string path = (fs::path(dir) / item.file).string();
      if (!fs::is_regular_file(path)) {
        image_problems.push_back(who + ": the PNG is missing");
        continue;
      }
      PngInfo png = inspect_png(read_file(path));
      std::string key;
      for (const auto& [name, v] : png.text)
        if (name == kImageKeyChunk) key = v;
      if (!png.complete) {
        image_problems.push_back(who + ": damaged PNG: " + png.problem);
      } else if (key != item.key) {
        image_problems.push_back(who + ": the PNG holds another image (key " + key + ")");
      } else {
        ++rep.complete;
        merged.push_back(*matching.front());
      }
    }
    const std::size_t done = rep.complete - complete_before;
    if (done != plan.items.size())
      rep.problems.push_back(fmt::format("shard {}/{} is incomplete: {} of {} images complete", k, rep.shards, done,
                                         plan.items.size()));
  }
  rep.problems.insert(rep.problems.end(), image_problems.begin(), image_problems.end());
  if (rep.shards > 1 && rep.ok()) {
    std::sort(merged.begin(), merged.end(),
              [](const json& a, const json& b) { return a.value("index", 0) < b.value("index", 0); });
    std::string text;
    for (const auto& j : merged) text += j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    rep.merged_manifest = (fs::path(dir) / "manifest.jsonl").string();
    write_file_atomic(rep.merged_manifest, text);
  }
  return rep;
}

}  // namespace catimage
