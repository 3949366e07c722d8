// `catimage score` with several metrics in one pass (each image read once, every metric with its
// own scorer folder and score file, resumable per metric), the pairing of --metric with
// --scorer, and `catimage table` with a table per metric. Tiny CLIP and NIMA scorers
// (tests/tiny_models.hpp); fp32 on the CPU.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <sstream>

#include "catimage/batch/score_job.hpp"
#include "catimage/io/json_file.hpp"
#include "catimage/scoring/clip_scorer.hpp"
#include "catimage/scoring/load_rgb.hpp"
#include "catimage/scoring/nima_scorer.hpp"
#include "tiny_models.hpp"

using namespace catimage;
using namespace catimage::test;
namespace fs = std::filesystem;

namespace {

std::vector<json> jsonl(const fs::path& p) {
  std::vector<json> out;
  std::istringstream in(slurp(p));
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

// The six images of the NIMA references (tests/fixtures/scoring).
const std::vector<std::string> kImages = {"gradient_48x40",       "noise_40x56",     "checker_20x24",
                                          "nima_pattern_331x250", "nima_rgba_30x20", "nima_grey_17x13"};

}  // namespace

TEST(ScoreCli, SeveralMetricsInOnePassEachWithItsFileAndResume) {
  auto d = temp_dir();
  std::string list;
  for (const auto& n : kImages) {
    fs::copy_file(fixture("scoring/" + n + ".png"), d / (n + ".png"));
    list += json{{"image", n + ".png"}, {"prompt", "a photo of " + n}}.dump() + "\n";
  }
  const auto L = write(d / "list.jsonl", list);
  const std::string clip = tiny_clip(), nima = tiny_nima();
  auto r = run_catimage("score " + L + " --metric clipscore,nima --scorer " + clip + " --scorer " + nima);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "list.scores-clipscore.jsonl: 6 images, 6 scored now")) << r.out;
  EXPECT_TRUE(contains(r.out, "list.scores-nima.jsonl: 6 images, 6 scored now")) << r.out;
  EXPECT_FALSE(contains(r.out.substr(r.out.find("scores-nima")), "prompts cut")) << r.out;  // NIMA reads no prompt
  // each metric's scores are its library scorer's, in its own file
  auto nima_scorer = NimaScorer::load(nima);
  auto clip_scorer = ClipScorer::load(clip, ScoreMetric::clipscore);
  auto ns = jsonl(d / "list.scores-nima.jsonl");
  auto cs = jsonl(d / "list.scores-clipscore.jsonl");
  ASSERT_EQ(ns.size(), 6u);
  ASSERT_EQ(cs.size(), 6u);
  for (const auto& s : ns) {
    const auto img = load_rgb((d / s["file"].get<std::string>()).string());
    EXPECT_NEAR(s["score"].get<double>(), nima_scorer.score({img}, {""}).scores[0], 1e-5) << s.dump();
    EXPECT_EQ(s["metric"], "nima");
    EXPECT_FALSE(s.contains("truncated"));
  }
  for (const auto& s : cs) {
    const auto img = load_rgb((d / s["file"].get<std::string>()).string());
    EXPECT_NEAR(s["score"].get<double>(), clip_scorer.score({img}, {s["prompt"].get<std::string>()}).scores[0], 1e-4);
    EXPECT_EQ(s["metric"], "clipscore");
    EXPECT_TRUE(s.contains("truncated"));
  }
  // resume, per metric: one metric's file gone, only that metric scores again (the other keeps
  // all); METRIC=DIR pairs in any order
  const std::string before = slurp(d / "list.scores-nima.jsonl");
  fs::remove(d / "list.scores-nima.jsonl");
  r = run_catimage("score " + L + " --metric clipscore,nima --scorer nima=" + nima + " --scorer clipscore=" + clip);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "clipscore.jsonl: 6 images, 0 scored now (0.00 images/s), 6 kept")) << r.out;
  EXPECT_TRUE(contains(r.out, "nima.jsonl: 6 images, 6 scored now")) << r.out;
  EXPECT_EQ(slurp(d / "list.scores-nima.jsonl"), before);  // the same scores, byte for byte
  // -o names one score file
  r = run_catimage("score " + L + " --metric clipscore,nima --scorer " + clip + " --scorer " + nima + " -o x.jsonl");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "names one score file")) << r.err;
  fs::remove_all(d);
}

// --metric names with --scorer folders: one per metric in order, or METRIC=DIR in any order.
TEST(ScoreJob, PairsMetricsWithScorerFolders) {
  auto pairs = pair_metric_scorers({"clipscore", "nima"}, {"c", "n"});
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[0].metric + "=" + pairs[0].scorer, "clipscore=c");
  EXPECT_EQ(pairs[1].metric + "=" + pairs[1].scorer, "nima=n");
  pairs = pair_metric_scorers({"clipscore", "nima"}, {"nima=n", "clipscore=dir=with=equals"});
  EXPECT_EQ(pairs[0].scorer, "dir=with=equals");
  EXPECT_EQ(pairs[1].scorer, "n");
  EXPECT_EQ(pair_metric_scorers({"nima"}, {"weights/a=b"})[0].scorer, "weights/a=b");  // not a metric name: a folder
  auto fails = [](std::vector<std::string> m, std::vector<std::string> s) {
    return error_message([&] { pair_metric_scorers(m, s); });
  };
  EXPECT_TRUE(contains(fails({"clipscore", "nima"}, {"c"}), "1 scorer folders for 2 metrics (clipscore, nima)"));
  EXPECT_TRUE(contains(fails({"clipscore", "nima"}, {"nima=n", "c"}), "give every scorer as METRIC=DIR"));
  EXPECT_TRUE(contains(fails({"nima"}, {"pickscore=c"}), "pickscore is not one of --metric (nima)"));
  EXPECT_TRUE(contains(fails({"nima", "clipscore"}, {"nima=a", "nima=b"}), "two folders for nima"));
  EXPECT_TRUE(contains(fails({"nima", "nima"}, {"a", "b"}), "nima is listed twice"));
  EXPECT_TRUE(contains(fails({"nima", "fid"}, {"a", "b"}), "unknown score metric \"fid\""));
  EXPECT_TRUE(contains(fails({"nima"}, {"nima="}), "no folder after '='"));
}

TEST(SweepCli, TableBuildsATablePerMetric) {
  auto d = temp_dir();
  json cfg = {{"candidates",
               {{{"name", "small"},
                 {"family", "sd15"},
                 {"weights", tiny_model("tiny-sd1")},
                 {"steps", 2},
                 {"scheduler", "euler"},
                 {"guidance", 3.0},
                 {"width", 16},
                 {"height", 16},
                 {"cost", {{"value", 1.0}, {"unit", "seconds"}}}}}}};
  const auto C = write(d / "config.json", cfg.dump());
  const auto P = write(d / "p.txt", "a red cube\ntwo dogs at dusk\na white wall\n");
  const auto S = d / "sweep";
  auto r = run_catimage("sweep -c " + C + " " + P + " --out " + S.string());
  ASSERT_EQ(r.code, 0) << r.err;
  r = run_catimage("score " + S.string() + " --metric clipscore,nima --scorer " + tiny_clip() + " --scorer " +
                   tiny_nima());
  ASSERT_EQ(r.code, 0) << r.err;
  r = run_catimage("table " + S.string());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "table-clipscore.jsonl: 3 prompts x 1 candidates (clipscore)")) << r.out;
  EXPECT_TRUE(contains(r.out, "table-nima.jsonl: 3 prompts x 1 candidates (nima)")) << r.out;
  // the NIMA table's qualities are the NIMA scores of the images
  std::map<std::string, double> by_id;
  for (const auto& s : jsonl(S / "scores-nima.jsonl")) by_id[s["id"].get<std::string>()] = s["score"].get<double>();
  const auto rows = jsonl(S / "table-nima.jsonl");
  ASSERT_EQ(rows.size(), 3u);
  for (const auto& row : rows) EXPECT_EQ(row["quality"]["small"].get<double>(), by_id.at(row["id"].get<std::string>()));
  EXPECT_EQ(jsonl(S / "table-clipscore.jsonl").size(), 3u);
  // -o names one table: with two score files it needs --metric (or --scores)
  r = run_catimage("table " + S.string() + " -o " + (d / "t.jsonl").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "2 score files")) << r.err;
  fs::remove_all(d);
}
