// Routing on several metrics through the CLI: prompt-only route with two predictors, and the
// cascade observing two scorers (tiny CLIP and tiny NIMA) killed and resumed.
#include <gtest/gtest.h>

#include <set>

#include "cli_helpers.hpp"

using namespace catimage;
using namespace catimage::test;

namespace {

std::string prompt_file(const fs::path& d, int n) {
  static const char* words[] = {"red", "cube", "dog", "cat", "dusk", "wall", "park", "neon", "city", "tree"};
  std::string text;
  for (int i = 0; i < n; ++i)
    text += std::string(words[i % 10]) + " " + words[(3 * i + 1) % 10] + " " + words[(7 * i + 2) % 10] + " " +
            std::to_string(i) + "\n";
  return write(d / "p.txt", text);
}

double mean_of(const std::vector<json>& lines, const std::string& metric, const std::string& field) {
  double s = 0;
  for (const auto& l : lines) s += l["metrics"][metric][field].get<double>();
  return s / lines.size();
}

}  // namespace

TEST(MetricCli, RouteOnTwoPredictorsMeetsTheFloorAndWritesEveryMetric) {
  auto d = temp_dir();
  const auto cfg = tiny_config(d);
  const auto prompts = prompt_file(d, 30);
  const std::string clip = (d / "p-clip").string(), nima = (d / "p-nima").string();
  ASSERT_EQ(run_catimage("train -t " + tiny_metric_table(d, "clipscore") + " --metric clipscore -o " + clip).code, 0);
  ASSERT_EQ(run_catimage("train -t " + tiny_metric_table(d, "nima", 5) + " --metric nima -o " + nima).code, 0);
  auto route = [&](const std::string& extra) {
    return run_catimage("route " + prompts + " -c " + cfg + " --predictor " + clip + "," + nima +
                        " --format jsonl --budget 2 " + extra);
  };
  auto r = route("--objective clipscore:1 --floor nima");
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<json> lines;
  std::istringstream in(r.out);
  for (std::string l; std::getline(in, l);) lines.push_back(json::parse(l));
  ASSERT_EQ(lines.size(), 30u);
  // every line carries both metrics' predictions; the floor: NIMA's predicted mean at least the
  // best single candidate's that the budget (2) affords (small 1, masked 2; not xl 3)
  double routed = 0, cost = 0;
  std::map<std::string, double> single;
  for (const auto& l : lines) {
    ASSERT_TRUE(l["metrics"].contains("clipscore") && l["metrics"].contains("nima")) << l.dump();
    routed += l["metrics"]["nima"][l["candidate"].get<std::string>()].get<double>();
    cost += l["cost"].get<double>();
    for (const char* c : {"small", "masked"}) single[c] += l["metrics"]["nima"][c].get<double>();
  }
  EXPECT_GE(routed, std::max(single["small"], single["masked"]) - 1e-9);
  EXPECT_LE(cost / 30, 2 + 1e-9);
  EXPECT_NE(r.err.find("floor nima"), std::string::npos) << r.err;
  // without the floor the objective alone (CLIP) routes differently or already meets it
  auto free = route("--objective clipscore:1");
  ASSERT_EQ(free.code, 0) << free.err;
  // named errors
  auto bad = route("--objective aesthetic:1");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("no predictor of metric \"aesthetic\" (metrics: clipscore, nima)"), std::string::npos)
      << bad.err;
  bad = route("--floor nima=99");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("the floor on nima (99) cannot be met within the budget 2"), std::string::npos) << bad.err;
  bad = run_catimage("route " + prompts + " -c " + cfg + " --predictor " + clip + " --objective savings --budget 2");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("--objective savings is the mode without --lambda/--budget/--candidate"), std::string::npos)
      << bad.err;
}

TEST(MetricCli, CascadeOnTwoScorersSurvivesKillsAndMeetsItsFloor) {
  auto d = temp_dir();
  const auto cfg = tiny_config(d);
  const auto clip_p = tiny_cascade_predictor(d, "clipscore");
  const auto nima_p = tiny_cascade_predictor(d, "nima", 5);
  const int n = 8;
  const auto prompts = prompt_file(d, n);
  auto args = [&](const fs::path& out) {
    return std::vector<std::string>{CATIMAGE_BINARY,
                                    "-q",
                                    "route",
                                    prompts,
                                    "-c",
                                    cfg,
                                    "--generate",
                                    "--cascade",
                                    "--cascade-predictor",
                                    clip_p + "," + nima_p,
                                    "--metric",
                                    "clipscore,nima",
                                    "--scorer",
                                    "clipscore=" + tiny_clip() + ",nima=" + tiny_nima(),
                                    "--objective",
                                    "clipscore:1",
                                    "--floor",
                                    "nima",
                                    "--budget",
                                    "2.5",
                                    "--out",
                                    out.string(),
                                    "--seed",
                                    "5"};
  };
  ASSERT_EQ(run_to_end(args(d / "ref")), 0);
  const auto ref = manifest(d / "ref" / "cascade.jsonl");
  ASSERT_EQ(ref.size(), static_cast<std::size_t>(n));
  // both metrics of every first image observed (one score file each) and each metric's options predicted
  const auto clip_scores = manifest(d / "ref" / "scores-clipscore.jsonl");
  const auto nima_scores = manifest(d / "ref" / "scores-nima.jsonl");
  EXPECT_EQ(clip_scores.size(), static_cast<std::size_t>(n));
  EXPECT_EQ(nima_scores.size(), static_cast<std::size_t>(n));
  double cost = 0, nima_routed = 0;
  std::map<std::string, double> nima_single;
  for (const auto& rec : ref) {
    ASSERT_TRUE(rec.contains("metrics")) << rec.dump();
    for (const char* m : {"clipscore", "nima"}) {
      ASSERT_TRUE(rec["metrics"][m]["observed"].is_number()) << rec.dump();
      EXPECT_EQ(rec["metrics"][m]["predicted"]["small"], rec["metrics"][m]["observed"]);  // keeping FIRST's image
    }
    EXPECT_EQ(rec["metrics"]["clipscore"]["observed"], rec["observed"]);
    cost += rec["cost"].get<double>();
    nima_routed += rec["metrics"]["nima"]["predicted"][rec["candidate"].get<std::string>()].get<double>();
    for (const char* c : {"small", "masked"}) nima_single[c] += rec["metrics"]["nima"]["predicted"][c].get<double>();
  }
  EXPECT_LE(cost / n, 2.5 + 1e-9);  // the budget, exactly as one metric's
  EXPECT_GE(nima_routed, std::max(nima_single["small"], nima_single["masked"]) - 1e-9);  // the floor

  const int kills = kill_at_random_points(args(d / "killed"), d / "killed", 99, 100, 1500, 8, 80);
  ASSERT_GE(kills, 8);
  ASSERT_EQ(run_to_end(args(d / "killed")), 0);
  EXPECT_EQ(slurp(d / "killed" / "cascade.jsonl"), slurp(d / "ref" / "cascade.jsonl"));
  for (const auto& rec : ref)
    EXPECT_EQ(slurp(d / "killed" / rec["file"].get<std::string>()), slurp(d / "ref" / rec["file"].get<std::string>()));
  EXPECT_EQ(manifest(d / "killed" / "scores-nima.jsonl").size(), static_cast<std::size_t>(n));

  // several metrics refuse what selects or learns on one
  auto with = [&](std::vector<std::string> a, const std::string& extra) {
    a.push_back(extra);
    std::string cmd;
    for (std::size_t i = 2; i < a.size(); ++i) cmd += "'" + a[i] + "' ";
    return run_catimage(cmd);
  };
  auto r = with(args(d / "other"), "--keep-best");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("takes no --learn or --keep-best"), std::string::npos) << r.err;
  auto only = args(d / "other");
  only[11] = "clipscore";  // no NIMA scorer for the NIMA predictor
  only[13] = tiny_clip();
  r = with(only, "--score-cost=0");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("no scorer for its metric nima"), std::string::npos) << r.err;
}
