// `catimage adapt` end to end on the tiny models and the tiny scorer, and the cascade that learns
// as it runs and runs in phases: budgets, kills, shards.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "catimage/io/json_file.hpp"
#include "cli_helpers.hpp"
#include "tiny_models.hpp"

using namespace catimage;
using namespace catimage::test;
namespace fs = std::filesystem;

namespace {

const char* kWords[] = {"red", "cube", "dog", "cat", "dusk", "wall", "park", "neon", "city", "tree"};

// n prompts in words the tiny cascade predictor knows, in a different mix per prompt.
std::string tiny_prompts(int n, int salt = 0) {
  std::string text;
  for (int i = 0; i < n; ++i)
    text += std::string(kWords[(i + salt) % 10]) + " " + kWords[(3 * i + 1 + salt) % 10] + " " +
            kWords[(7 * i + 2) % 10] + " " + std::to_string(i) + "\n";
  return text;
}

// A config of three generatable tiny candidates: small (SD1, 1 s), mid (SD2, 2 s), xl (SDXL, 3 s).
std::string three_tiny(const fs::path& dir) {
  auto one = [](const char* name, const char* family, const std::string& weights, double cost) {
    json c = {
        {"name", name},    {"family", family}, {"weights", weights}, {"steps", 2},
        {"guidance", 0.0}, {"width", 16},      {"height", 16},       {"cost", {{"value", cost}, {"unit", "seconds"}}}};
    return c;
  };
  json cfg = {{"candidates",
               {one("small", "sd15", tiny_model("tiny-sd1"), 1.0), one("mid", "sd21", tiny_model("tiny-sd2"), 2.0),
                one("xl", "sdxl", tiny_model("tiny-sdxl"), 3.0)}}};
  return write(dir / "three.json", cfg.dump());
}

// A made-up base table for those candidates (the shipped ones measure other models).
std::string tiny_base(const fs::path& dir) {
  std::mt19937 rng(4);
  std::normal_distribution<double> g(0, 1);
  std::string text;
  for (int i = 0; i < 80; ++i) {
    std::string p;
    for (int w = 0; w < 2 + i % 5; ++w) p += std::string(p.empty() ? "" : " ") + kWords[rng() % 10];
    const double s = 20 + 3 * g(rng);
    text += json{{"id", "b" + std::to_string(i)},
                 {"prompt", p},
                 {"quality", {{"small", s}, {"mid", s + 0.5 + g(rng)}, {"xl", 21 + g(rng) + 0.5 * (20 - s)}}}}
                .dump() +
            "\n";
  }
  return write(dir / "base.jsonl", text);
}

// A quality table's lines without the measured per-image costs (timings differ run to run).
std::string without_costs(const fs::path& p) {
  std::string out;
  for (auto j : manifest(p)) {
    j.erase("cost");
    out += j.dump() + "\n";
  }
  return out;
}

std::map<std::string, std::string> files_under(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = slurp(e.path());
  return out;
}

}  // namespace

TEST(AdaptCli, SweepsScoresMergesTrainsResumesAfterKillsAndRouteUsesWhatItWrites) {
  auto d = temp_dir();
  const auto cfg = three_tiny(d), base = tiny_base(d);
  const auto prompts = write(d / "mine.txt", tiny_prompts(40, 3));
  auto args = [&](const fs::path& out) {
    return std::vector<std::string>{CATIMAGE_BINARY, "-q",        "adapt",         prompts, "-c",       cfg,
                                    "--sample",      "8",         "--base",        base,    "--scorer", tiny_clip(),
                                    "--clusters",    "2",         "--weight-grid", "1,3",   "--seed",   "3",
                                    "--out",         out.string()};
  };
  // the dry run says what the sweep costs, and does nothing
  auto r = run_catimage("adapt " + prompts + " -c " + cfg + " --sample 8 --out " + (d / "dry").string() + " --dry-run");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "8 prompts x 3 candidates = 24 images, 48 seconds")) << r.out;
  EXPECT_FALSE(fs::exists(d / "dry"));

  ASSERT_EQ(run_to_end(args(d / "ref")), 0);
  const fs::path ref = d / "ref";
  for (const char* f : {"sample.jsonl", "sweep/table-clipscore.jsonl", "merged-prompt.jsonl", "merged-cascade.jsonl",
                        "predictor/predictor.json", "cascade-predictor/predictor.json", "adapt.json"})
    EXPECT_TRUE(fs::exists(ref / f)) << f;
  EXPECT_EQ(manifest(ref / "sample.jsonl").size(), 8u);
  EXPECT_EQ(manifest(ref / "sweep/table-clipscore.jsonl").size(), 8u);
  const json report = read_json_file((ref / "adapt.json").string());
  EXPECT_EQ(report["user_rows"], 8);
  EXPECT_EQ(report["first"], "small");  // the cheapest
  EXPECT_TRUE(report["gain_over_best_single"]["cascade"]["before"].is_number()) << report.dump();
  // the merged tables: the base's 80 rows, then the user's 12 with the chosen weight
  const auto merged = manifest(ref / "merged-cascade.jsonl");
  ASSERT_EQ(merged.size(), 88u);
  const double w = report["weights"]["cascade"]["chosen"];
  EXPECT_EQ(merged.back().value("weight", 1.0), w);
  const json pj = read_json_file((ref / "predictor/predictor.json").string());
  EXPECT_EQ(pj["training"]["train_table"], (ref / "merged-prompt.jsonl").string());

  // killed at seeded moments and run again: the same predictors, byte for byte
  const fs::path killed = d / "killed";
  const int kills = kill_at_random_points(args(killed), killed, 31, 200, 2500, 3, 20);
  EXPECT_GE(kills, 2);
  ASSERT_EQ(run_to_end(args(killed)), 0);
  for (const char* f : {"predictor/weights.safetensors", "predictor/tfidf.json",
                        "cascade-predictor/weights.safetensors", "sample.jsonl"})
    EXPECT_EQ(slurp(killed / f), slurp(ref / f)) << f;
  for (const char* f : {"merged-prompt.jsonl", "merged-cascade.jsonl"})  // the same rows, weights and qualities
    EXPECT_EQ(without_costs(killed / f), without_costs(ref / f)) << f;

  // route takes the folders as they are
  r = run_catimage("route " + prompts + " -c " + cfg + " --predictor " + (ref / "predictor").string() +
                   " --format jsonl");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 40);
  const auto few = write(d / "few.txt", tiny_prompts(4, 7));
  r = run_catimage("route " + few + " -c " + cfg + " --generate --cascade --cascade-predictor " +
                   (ref / "cascade-predictor").string() + " --scorer " + tiny_clip() + " --out " +
                   (d / "routed").string());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(manifest(d / "routed" / "cascade.jsonl").size(), 4u);

  // another sample into the same folder is refused
  r = run_catimage("adapt " + prompts + " -c " + cfg + " --sample 7 --base " + base + " --scorer " + tiny_clip() +
                   " --out " + ref.string());
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "holds another sample")) << r.err;
  // a grid without the reference weight is refused before anything is generated
  r = run_catimage("adapt " + prompts + " -c " + cfg + " --sample 8 --weight-grid 1,10 --out " +
                   (d / "no-reference").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "must hold the reference weight 3 (--default-weight)")) << r.err;
  EXPECT_FALSE(fs::exists(d / "no-reference" / "sweep"));
  // --table starts from a table; its candidates must be the base's
  r = run_catimage("adapt --table " + (ref / "sweep/table-clipscore.jsonl").string() + " -c " + cfg + " --base " +
                   base + " --clusters 2 --weight-grid 1,3 --out " + (d / "from-table").string());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(without_costs(d / "from-table" / "merged-cascade.jsonl"), without_costs(ref / "merged-cascade.jsonl"));
  r = run_catimage("adapt --table " + (ref / "sweep/table-clipscore.jsonl").string() + " -c " + cfg + " --out " +
                   (d / "shipped-base").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "a base table must measure the same candidates")) << r.err;
}

namespace {

std::vector<std::string> learn_args(const std::string& prompts, const std::string& cfg, const std::string& predictor,
                                    const std::string& base, const fs::path& out, std::vector<std::string> more = {}) {
  std::vector<std::string> a = {CATIMAGE_BINARY,
                                "-q",
                                "route",
                                prompts,
                                "-c",
                                cfg,
                                "--generate",
                                "--cascade",
                                "--cascade-predictor",
                                predictor,
                                "--scorer",
                                tiny_clip(),
                                "--budget",
                                "2.2",
                                "--learn",
                                "--learn-every",
                                "4",
                                "--explore",
                                "0.3",
                                "--learn-base",
                                base,
                                "--seed",
                                "5",
                                "--out",
                                out.string()};
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

}  // namespace

TEST(CascadeCli, LearningKeepsTheBudgetSurvivesKillsAndShardedPhasesEqualOneRun) {
  auto d = temp_dir();
  const auto cfg = tiny_config(d);  // small (1 s, first), xl (3 s); masked cannot run here
  const auto predictor = tiny_cascade_predictor(d);
  const auto base = (d / "table-clipscore.jsonl").string();  // the predictor's own table (tiny_metric_table)
  const int n = 10;
  const auto prompts = write(d / "p.txt", tiny_prompts(n));
  ASSERT_EQ(run_to_end(learn_args(prompts, cfg, predictor, base, d / "one")), 0);
  const auto recs = manifest(d / "one" / "cascade.jsonl");
  ASSERT_EQ(recs.size(), static_cast<std::size_t>(n));
  double cost = 0;
  std::size_t escalated = 0, explored = 0;
  std::set<int> blocks;
  for (const auto& rec : recs) {
    cost += rec["cost"].get<double>();
    escalated += rec["escalated"].get<bool>();
    explored += rec["explored"].get<bool>();
    blocks.insert(rec["block"].get<int>());
    if (rec["escalated"].get<bool>())
      EXPECT_TRUE(rec.contains("second_score")) << rec.dump();  // every escalation scored
    EXPECT_GT(rec["propensity"].get<double>(), 0.0);
  }
  EXPECT_LE(cost, 2.2 * n * (1 + 1e-9));  // the batch's budget, exactly: sum of what each prompt cost
  EXPECT_GT(escalated, 0u);
  EXPECT_EQ(blocks.size(), 3u);  // 10 prompts in blocks of 4
  // the run table: every first image and every escalation's score, with seeds and image hashes
  const auto run = manifest(d / "one" / "cascade-run.jsonl");
  EXPECT_EQ(run.size(), n + escalated);
  for (const auto& row : run) {
    EXPECT_TRUE(row.contains("seed") && row.contains("image_hash") && row.contains("score")) << row.dump();
    EXPECT_EQ(slurp(d / "one" / row["file"].get<std::string>()).empty(), false);
  }

  // Killed at seeded moments and resumed: the same choices and images.
  const int kills =
      kill_at_random_points(learn_args(prompts, cfg, predictor, base, d / "killed"), d / "killed", 9, 150, 2500, 4, 30);
  EXPECT_GE(kills, 3);
  ASSERT_EQ(run_to_end(learn_args(prompts, cfg, predictor, base, d / "killed")), 0);
  EXPECT_EQ(slurp(d / "killed" / "cascade.jsonl"), slurp(d / "one" / "cascade.jsonl"));
  EXPECT_EQ(slurp(d / "killed" / "cascade-plan.jsonl"), slurp(d / "one" / "cascade-plan.jsonl"));

  // The phases, sharded as a cluster runs them: first (2 shards), then plan / second (2 shards)
  // in turn until the plan finishes the folder. The same images and decisions, byte for byte.
  const fs::path sh = d / "sharded";
  auto phase = [&](const std::string& p, const std::string& shard) {
    std::vector<std::string> more = {"--cascade-phase", p};
    if (!shard.empty()) more.insert(more.end(), {"--shard", shard});
    return run_to_end(learn_args(prompts, cfg, predictor, base, sh, more));
  };
  // the plan refuses to start before every shard's first images are scored
  ASSERT_EQ(phase("first", "0/2"), 0);
  auto r = run_catimage("route " + prompts + " -c " + cfg + " --generate --cascade --cascade-predictor " + predictor +
                        " --scorer " + tiny_clip() +
                        " --budget 2.2 --learn --learn-every 4 --explore 0.3 "
                        "--learn-base " +
                        base + " --seed 5 --out " + sh.string() + " --cascade-phase plan");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "first images have no clipscore score yet")) << r.err;
  ASSERT_EQ(phase("first", "1/2"), 0);
  int rounds = 0;
  while (!fs::exists(sh / "cascade.jsonl") && rounds < 10) {
    ASSERT_EQ(phase("plan", ""), 0);
    if (fs::exists(sh / "cascade.jsonl")) break;
    ASSERT_EQ(phase("second", "0/2"), 0);
    ASSERT_EQ(phase("second", "1/2"), 0);
    ++rounds;
  }
  ASSERT_TRUE(fs::exists(sh / "cascade.jsonl"));
  // a plan goes on to the next block when a block escalated nothing: one round per block that escalated
  std::set<int> escalating;
  for (const auto& rec : recs)
    if (rec["escalated"].get<bool>()) escalating.insert(rec["block"].get<int>());
  EXPECT_EQ(rounds, static_cast<int>(escalating.size()));
  EXPECT_EQ(slurp(sh / "cascade.jsonl"), slurp(d / "one" / "cascade.jsonl"));
  EXPECT_EQ(slurp(sh / "cascade-plan.jsonl"), slurp(d / "one" / "cascade-plan.jsonl"));
  EXPECT_EQ(slurp(sh / "cascade-run.jsonl"), slurp(d / "one" / "cascade-run.jsonl"));
  const auto a = files_under(d / "one"), b = files_under(sh);
  std::size_t pngs = 0;
  for (const auto& [f, bytes] : a)
    if (fs::path(f).extension() == ".png") {
      ++pngs;
      ASSERT_TRUE(b.count(f)) << f;
      EXPECT_EQ(b.at(f), bytes) << f;
    }
  EXPECT_EQ(pngs, 2 * n + escalated);  // FIRST/ID.png, CAND/ID.png and the kept ID.png
  // the plan job refuses shards; merge accepts the sharded folder
  r = run_catimage("route " + prompts + " -c " + cfg + " --generate --cascade --cascade-predictor " + predictor +
                   " --scorer " + tiny_clip() + " --out " + sh.string() + " --cascade-phase plan --shard 0/2");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "plan without")) << r.err;
}

TEST(CascadeCli, StaticCascadeInShardedPhasesEqualsOneRun) {
  auto d = temp_dir();
  const auto cfg = tiny_config(d);
  const auto predictor = tiny_cascade_predictor(d);
  const int n = 10;
  const auto prompts = write(d / "p.txt", tiny_prompts(n, 5));
  auto args = [&](const fs::path& out, std::vector<std::string> more) {
    std::vector<std::string> a = {
        CATIMAGE_BINARY,       "-q",      "route",    prompts,     "-c",          cfg,        "--generate", "--cascade",
        "--cascade-predictor", predictor, "--scorer", tiny_clip(), "--keep-best", "--budget", "2.5",        "--out",
        out.string()};
    a.insert(a.end(), more.begin(), more.end());
    return a;
  };
  ASSERT_EQ(run_to_end(args(d / "one", {})), 0);
  const fs::path sh = d / "sharded";
  for (const char* s : {"0/2", "1/2"}) ASSERT_EQ(run_to_end(args(sh, {"--cascade-phase", "first", "--shard", s})), 0);
  ASSERT_EQ(run_to_end(args(sh, {"--cascade-phase", "plan"})), 0);
  EXPECT_FALSE(fs::exists(sh / "cascade.jsonl"));  // the escalations are still to make
  for (const char* s : {"0/2", "1/2"}) ASSERT_EQ(run_to_end(args(sh, {"--cascade-phase", "second", "--shard", s})), 0);
  ASSERT_EQ(run_to_end(args(sh, {"--cascade-phase", "plan"})), 0);
  EXPECT_EQ(slurp(sh / "cascade.jsonl"), slurp(d / "one" / "cascade.jsonl"));
  for (const auto& [f, bytes] : files_under(d / "one"))
    if (fs::path(f).extension() == ".png") EXPECT_EQ(slurp(sh / f), bytes) << f;
  auto r = run_catimage("merge " + sh.string());
  EXPECT_EQ(r.code, 0) << r.out << r.err;
}
