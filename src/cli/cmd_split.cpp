// catimage split: seeded train/val/test split of a quality table.
#include <filesystem>
#include <memory>

#include "catimage/io/table_split.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/logging.hpp"
#include "cli/commands.hpp"
#include "cli/common.hpp"

namespace catimage::cli {

namespace {

struct SplitOptions {
  std::string table, outdir;
  std::uint64_t seed = 0;
  std::vector<double> ratios = {0.8, 0.1, 0.1};
  int holdout_max_words = 0;
};

int run(const SplitOptions& o) {
  auto t = load_quality_table(o.table);
  auto s = split_table(t, o.ratios, o.seed, o.holdout_max_words);
  static const char* names3[] = {"train", "val", "test"};
  namespace fs = std::filesystem;
  for (std::size_t k = 0; k < s.parts.size(); ++k) {
    std::string name = s.parts.size() == 3 ? names3[k] : fmt::format("part{}", k + 1);
    auto path = (fs::path(o.outdir) / (name + ".jsonl")).string();
    write_quality_table(path, s.parts[k]);
    spdlog::info("{}: {} prompts", path, s.parts[k].rows.size());
  }
  if (o.holdout_max_words > 0) {
    auto path = (fs::path(o.outdir) / "heldout.jsonl").string();
    write_quality_table(path, s.heldout);
    spdlog::info("{}: {} prompts of at most {} words", path, s.heldout.rows.size(), o.holdout_max_words);
  }
  return 0;
}

}  // namespace

Runner add_split(CLI::App& app) {
  auto o = std::make_shared<SplitOptions>();
  auto* c = app.add_subcommand("split", "Seeded train/val/test split of a quality table");
  c->add_option("-t,--table", o->table, "Quality table (JSONL)")->required();
  c->add_option("-o,--output-dir", o->outdir, "Folder for train.jsonl, val.jsonl, test.jsonl")->required();
  c->add_option("--seed", o->seed, "Random seed")->check(kSeed);
  c->add_option("--ratios", o->ratios, "Part sizes (normalised), e.g. 0.8,0.1,0.1")->delimiter(',')->check(kFinite);
  c->add_option("--holdout-max-words", o->holdout_max_words,
                "First move prompts of at most N words to heldout.jsonl (a different-style test set)");
  return [o] { return run(*o); };
}

}  // namespace catimage::cli
