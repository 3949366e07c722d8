// catimage merge: check and join the shards of a generation job.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "catimage/batch/merge.hpp"
#include "catimage/util/logging.hpp"
#include "catimage/util/strings.hpp"
#include "cli/commands.hpp"

namespace catimage::cli {

namespace {

struct MergeOptions {
  std::string out_dir;
  std::size_t show = 20;
};

int run(const MergeOptions& o) {
  MergeReport r = merge_job(o.out_dir);
  for (std::size_t i = 0; i < r.problems.size() && i < o.show; ++i) spdlog::error("{}", r.problems[i]);
  if (r.problems.size() > o.show) spdlog::error("... and {} more problems", r.problems.size() - o.show);
  spdlog::info("{}: {} shard(s), {} of {} images complete{}", o.out_dir, r.shards, r.complete, r.expected,
               r.merged_manifest.empty() ? "" : "; joined manifest " + r.merged_manifest);
  if (r.never_ran.empty()) {
    std::cout << r.complete << "/" << r.expected << (r.ok() ? " complete" : " incomplete") << "\n";
  } else {
    std::vector<std::string> names;
    for (int k : r.never_ran) names.push_back(fmt::format("{}/{}", k, r.shards));
    std::cout << r.complete << "/" << r.expected << " images of the shards that ran complete; shard"
              << (names.size() > 1 ? "s " : " ") << join(names, ", ") << " never ran: incomplete\n";
  }
  return r.ok() ? 0 : 1;
}

}  // namespace

Runner add_merge(CLI::App& app) {
  auto o = std::make_shared<MergeOptions>();
  auto* c = app.add_subcommand("merge",
                               "Check a generation output folder: every shard started, every routed prompt has exactly "
                               "one complete image; join the shard manifests into manifest.jsonl (exit 1 if anything "
                               "is missing)");
  c->add_option("out_dir", o->out_dir, "The --out folder of generate / route --generate")->required();
  c->add_option("--show", o->show, "Problems to list (default 20)");
  return [o] { return run(*o); };
}

}  // namespace catimage::cli
