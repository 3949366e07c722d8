#include "batch/job_plan.hpp"

#include <spdlog/fmt/fmt.h>

#include <filesystem>
#include <regex>

#include "catimage/io/atomic_file.hpp"
#include "catimage/io/json_file.hpp"
#include "catimage/util/error.hpp"

namespace fs = std::filesystem;

namespace catimage {

std::string JobPlan::file_name(const Shard& shard) {
  return shard.whole() ? std::string("job.json") : fmt::format("job-{}of{}.json", shard.index, shard.count);
}

void JobPlan::write(const std::string& out_dir) const {
  json items_json = json::array();
  for (const auto& it : items)
    items_json.push_back({{"file", it.file}, {"key", it.key}, {"id", it.id}, {"candidate", it.candidate}});
  json j = {{"format", "catimage-job/1"}, {"shard", {shard.index, shard.count}}, {"items", std::move(items_json)}};
  write_file_atomic((fs::path(out_dir) / file_name(shard)).string(),
                    j.dump(1, ' ', false, json::error_handler_t::replace) + "\n");
}

std::vector<JobPlan> read_job_plans(const std::string& out_dir) {
  static const std::regex name(R"(job(-(\d+)of(\d+))?\.json)");
  std::vector<JobPlan> plans;
  std::error_code ec;
  fs::directory_iterator dir(out_dir, ec);
  if (ec) fail("{}: cannot list the folder: {}", out_dir, ec.message());
  for (const auto& e : dir) {
    const std::string fname = e.path().filename().string();
    if (!std::regex_match(fname, name)) continue;
    const std::string path = e.path().string();
    json j = read_json_file(path);
    auto bad = [&](const std::string& what) { fail("{}: {}", path, what); };
    if (!j.is_object() || j.value("format", "") != "catimage-job/1") bad("not a catimage job file");
    JobPlan p;
    const auto& sh = j["shard"];
    if (!sh.is_array() || sh.size() != 2 || !sh[0].is_number_integer() || !sh[1].is_number_integer())
      bad("shard: expected [K, N]");
    p.shard = Shard{sh[0].get<int>(), sh[1].get<int>()};
    if (p.shard.count < 1 || p.shard.index < 0 || p.shard.index >= p.shard.count ||
        JobPlan::file_name(p.shard) != fname)
      bad("shard: does not match the file name");
    if (!j.contains("items") || !j["items"].is_array()) bad("items: expected an array");
    for (const auto& it : j["items"]) {
      if (!it.is_object()) bad("items: expected objects");
      JobPlanItem item;
      for (auto [key, field] :
           {std::pair{"file", &item.file}, {"key", &item.key}, {"id", &item.id}, {"candidate", &item.candidate}}) {
        if (!it.contains(key) || !it[key].is_string()) bad(fmt::format("items: \"{}\" missing or not a string", key));
        *field = it[key].get<std::string>();
      }
      p.items.push_back(std::move(item));
    }
    plans.push_back(std::move(p));
  }
  return plans;
}

}  // namespace catimage
