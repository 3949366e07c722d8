#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <sstream>
#include <thread>

#include "catimage/io/json_file.hpp"
#include "catimage/io/quality_table.hpp"
#include "test_util.hpp"

using namespace catimage;
using namespace catimage::test;

namespace {

std::vector<json> lines(const std::string& s) {
  std::vector<json> v;
  std::istringstream in(s);
  std::string l;
  while (std::getline(in, l))
    if (!l.empty()) v.push_back(json::parse(l));
  return v;
}

struct Fixture {
  std::filesystem::path d = temp_dir();
  std::string config, preds, prompts;
  Fixture() {
    config = write(d / "c.json", R"({"candidates": [
      {"name": "small", "family": "sd15", "cost": {"value": 1, "unit": "seconds"}},
      {"name": "big", "family": "sdxl", "cost": {"value": 4, "unit": "seconds"}}]})");
    preds = write(
        d / "pred.jsonl",
        "{\"id\": \"p1\", \"prompt\": \"a white wall\", \"quality\": {\"small\": 30, \"big\": 30.5}}\n"
        "{\"id\": \"p2\", \"prompt\": \"three dogs in a neon park\", \"quality\": {\"small\": 25, \"big\": 33}}\n");
    prompts = write(d / "p.txt", "a white wall\n\nthree dogs in a neon park\n");
  }
};

}  // namespace

TEST(Cli, RouteWithLambdaBudgetAndForcedCandidate) {
  Fixture f;
  auto base = "route " + f.prompts + " --config " + f.config + " --predictions " + f.preds;
  auto r = run_catimage(base + " --lambda 1");
  ASSERT_EQ(r.code, 0) << r.err;
  auto out = lines(r.out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]["candidate"], "small");  // 30 - 1 > 30.5 - 4
  EXPECT_EQ(out[0]["line"], 1);
  EXPECT_EQ(out[1]["candidate"], "big");  // 33 - 4 > 25 - 1
  EXPECT_EQ(out[1]["line"], 3);
  EXPECT_DOUBLE_EQ(out[1]["predicted"]["small"].get<double>(), 25);
  EXPECT_TRUE(contains(r.err, "skipped 1: empty line")) << r.err;
  EXPECT_TRUE(contains(r.err, "p.txt:2: skipped: empty line")) << r.err;

  r = run_catimage(base + " --budget 1 -o " + (f.d / "routes.jsonl").string());
  ASSERT_EQ(r.code, 0) << r.err;
  out = lines(slurp(f.d / "routes.jsonl"));
  EXPECT_EQ(out[0]["candidate"], "small");
  EXPECT_EQ(out[1]["candidate"], "small");

  r = run_catimage(base + " --budget 2.5");  // room for one big prompt: the one that gains most
  ASSERT_EQ(r.code, 0) << r.err;
  out = lines(r.out);
  EXPECT_EQ(out[0]["candidate"], "small");
  EXPECT_EQ(out[1]["candidate"], "big");

  r = run_catimage(base + " --candidate big");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const auto& j : lines(r.out)) EXPECT_EQ(j["candidate"], "big");

  r = run_catimage(base + " --lambda 0 --max-cost 2");
  ASSERT_EQ(r.code, 0) << r.err;
  for (const auto& j : lines(r.out)) EXPECT_EQ(j["candidate"], "small");
}

TEST(Cli, ClearErrorsForBadInput) {
  Fixture f;
  auto base = "route " + f.prompts + " --config " + f.config + " --predictions " + f.preds;
  auto r = run_catimage(base + " --budget 0.5");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "below the cheapest possible average cost 1")) << r.err;
  r = run_catimage(base + " --candidate nope");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "--candidate \"nope\" is not in")) << r.err;
  r = run_catimage(base + " --strict");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "p.txt:2: empty line")) << r.err;
  auto other = write(f.d / "o.txt", "a prompt nobody predicted\n");
  r = run_catimage("route " + other + " --config " + f.config + " --predictions " + f.preds);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "o.txt:1: no prediction")) << r.err;
  auto cfg3 = write(f.d / "c3.json", R"({"candidates": [
      {"name": "small", "family": "sd15", "cost": {"value": 1, "unit": "seconds"}},
      {"name": "other", "family": "sdxl", "cost": {"value": 4, "unit": "seconds"}}]})");
  r = run_catimage("route " + f.prompts + " --config " + cfg3 + " --predictions " + f.preds);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "has no candidate \"other\"")) << r.err;
  r = run_catimage("route /nonexistent.txt --config " + f.config + " --predictions " + f.preds);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "/nonexistent.txt: cannot open")) << r.err;
}

TEST(Cli, ImportThenEvalProducesTablesAndPlot) {
  auto d = temp_dir();
  auto small = (d / "mini.jsonl").string();
  auto r = run_catimage("import cems " + cems_fixture_dir() + " --metric clip -o " + small);
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_TRUE(std::filesystem::exists(d / "mini.candidates.json"));
  EXPECT_EQ(lines(slurp(small)).size(), 40u);
  // the shipped table is what import makes of the full CEMS data: its first 40 rows are these
  auto mini = load_quality_table(small), full = load_quality_table(shipped_table("clip"));
  ASSERT_EQ(full.rows.size(), 7000u);
  for (std::size_t i = 0; i < mini.rows.size(); ++i) {
    EXPECT_EQ(mini.rows[i].id, full.rows[i].id);
    EXPECT_EQ(mini.rows[i].quality, full.rows[i].quality);
    EXPECT_EQ(mini.rows[i].cost, full.rows[i].cost);
  }
  const std::string table = shipped_table("clip");
  // the oracle as "predictions": the router must equal the oracle
  r = run_catimage("eval --table " + table + " --predictions " + table + " --json -o " + (d / "ev").string());
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = json::parse(r.out);
  EXPECT_EQ(j["best_single"], "SDXL-Turbo");
  EXPECT_DOUBLE_EQ(j["router"]["aiq"].get<double>(), j["oracle"]["aiq"].get<double>());
  EXPECT_DOUBLE_EQ(j["router"]["oracle_gap_captured"].get<double>(), 1.0);
  EXPECT_GT(j["curve"].size(), 100u);
  for (auto name : {"eval.md", "curves.csv", "eval.json", "quality_cost.png"})
    EXPECT_TRUE(std::filesystem::exists(d / "ev" / name)) << name;
  auto png = slurp(d / "ev" / "quality_cost.png");
  EXPECT_EQ(png.substr(1, 3), "PNG");
}

TEST(Cli, RouteWorksOutOfTheBoxWithTheShippedDefault) {
  auto r = run_catimage("route " + std::string(CATIMAGE_SOURCE_DIR) + "/configs/example_prompts.txt");
  ASSERT_EQ(r.code, 0) << r.err;
  auto out = lines(r.out);
  ASSERT_EQ(out.size(), 40u);
  // The shipped default's candidates and the guard: a prompt leaves SDXL-Turbo (the best single)
  // only when the departure wins q - 0.75 - lambda * cost (the recorded margin 0.75) against
  // SDXL-Turbo's q - lambda * cost, at the lambda the summary reports.
  const auto at = r.err.find(", lambda ");
  ASSERT_NE(at, std::string::npos) << r.err;
  const double lambda = std::stod(r.err.substr(at + 9));
  const std::map<std::string, double> cost = {
      {"SD-Turbo", 0.1422}, {"SDXL-Turbo", 0.4738}, {"TAESD", 1.571}, {"amused", 0.3973}};
  double total = 0;
  std::size_t departed = 0;
  for (const auto& j : out) {
    const std::string c = j["candidate"].get<std::string>();
    ASSERT_EQ(cost.count(c), 1u) << j.dump();
    EXPECT_NEAR(j["cost"].get<double>(), cost.at(c), 1e-3) << j.dump();
    ASSERT_EQ(j["predicted"].size(), 4u);
    const double kept = j["predicted"]["SDXL-Turbo"].get<double>();
    if (c != "SDXL-Turbo") {
      ++departed;
      EXPECT_GE(j["predicted"][c].get<double>() - 0.75 - lambda * cost.at(c), kept - lambda * 0.4738 - 1e-9) << j.dump();
      EXPECT_FALSE(j["fallback"].get<bool>());
    }
    total += j["cost"].get<double>();
  }
  // Some prompts go cheaper at the best single's predicted quality, and the summary says so.
  EXPECT_GT(departed, 0u);
  EXPECT_LT(total / out.size(), 0.4738);
  EXPECT_TRUE(contains(r.err, "margin 0.75 over SDXL-Turbo")) << r.err;
  EXPECT_TRUE(contains(r.err, "of its cost saved")) << r.err;
  EXPECT_TRUE(contains(r.err, "at its cost (")) << r.err;
}

TEST(Cli, ShippedPredictorRoutesAnySubsetOfItsCandidates) {
  auto d = temp_dir();
  auto cfg = write(d / "c.json", R"({"candidates": [
      {"name": "SD-Turbo", "family": "sd21", "cost": {"value": 1, "unit": "seconds"}},
      {"name": "SDXL-Turbo", "family": "sdxl", "cost": {"value": 2, "unit": "seconds"}}]})");
  auto p = write(d / "p.txt", "a cat\n");
  auto r = run_catimage("route " + p + " --config " + cfg);
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = json::parse(r.out);
  EXPECT_EQ(j["predicted"].size(), 2u);
  // a candidate the predictor does not know is refused, naming it
  auto cfg2 = write(d / "c2.json", R"({"candidates": [
      {"name": "SD-Turbo", "family": "sd21", "cost": {"value": 1, "unit": "seconds"}},
      {"name": "PixArt", "family": "other", "cost": {"value": 2, "unit": "seconds"}}]})");
  r = run_catimage("route " + p + " --config " + cfg2);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "predictor")) << r.err;
  EXPECT_TRUE(contains(r.err, "has no candidate \"PixArt\"")) << r.err;
}

TEST(Cli, EveryInputErrorExitsTwo) {
  Fixture f;
  auto base = "route " + f.prompts + " --config " + f.config + " --predictions " + f.preds;
  for (auto [args, expect] :
       std::vector<std::pair<std::string, std::string>>{{" --lambda nan", "--lambda: must be a finite number"},
                                                        {" --max-cost inf", "--max-cost"},
                                                        {" --budget -1", "--budget"},
                                                        {" --no-such-option", "no-such-option"},
                                                        {" --lambda 1 --budget 2", "excludes"},
                                                        {" --shard 0/2", "--shard splits the generation work"}}) {
    auto r = run_catimage(base + args);
    EXPECT_EQ(r.code, 2) << args << ": " << r.err;
    EXPECT_TRUE(contains(r.err, expect)) << args << ": " << r.err;
  }
  EXPECT_EQ(run_catimage("route").code, 2);
  EXPECT_EQ(run_catimage("--help").code, 0);
  auto json_prompts = write(f.d / "p.yaml", "- a cat\n");
  auto r = run_catimage("route " + json_prompts + " --config " + f.config + " --predictions " + f.preds);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "unknown prompt-file extension")) << r.err;
}

// bench builds each family's model from its config: the parameter counts are those diffusers'
// (transformers' for T5) models built from the same configs have (scripts/bench_diffusers_model.py
// printed them), and the inputs have the shapes the family's pipeline gives.
TEST(Cli, BenchBuildsEveryFamilyFromItsConfig) {
  const std::string fx = std::string(CATIMAGE_SOURCE_DIR) + "/tests/fixtures/";
  struct Case {
    std::string dir, family, input;
    std::int64_t parameters;
  };
  const std::vector<Case> cases = {
      {fx + "tiny-sd1/unet", "unet", "latents (2, 4, 8, 8), text (2, 77, 32)", 792964},
      {fx + "tiny-pixart/transformer", "pixart", "latents (2, 4, 8, 8), text (2, 120, 32)", 32360},
      {fx + "tiny-pixart-ms/transformer", "pixart", "latents (2, 4, 8, 8), text (2, 120, 32)", 36616},
      {fx + "tiny-amused/transformer", "uvit2d", "tokens (2, 4, 4), text (2, 77, 32)", 98152},
      {fx + "tiny-t5/text_encoder", "t5", "token ids (2, 120)", 61696},
  };
  auto d = temp_dir();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.dir);
    const auto out = (d / (c.family + ".json")).string();
    auto r = run_catimage("--threads 1 bench --arch " + c.dir + " --size 64 --cfg --steps 1 --warmup 0 --json " + out);
    ASSERT_EQ(r.code, 0) << r.err;
    auto j = json::parse(slurp(out));
    EXPECT_EQ(j["family"].get<std::string>(), c.family);
    EXPECT_EQ(j["parameters"].get<std::int64_t>(), c.parameters);
    EXPECT_EQ(j["input"].get<std::string>(), c.input);
    EXPECT_GT(j["step_seconds_median"].get<double>(), 0);
  }
  auto vq = run_catimage("bench --arch " + fx + "tiny-amused/vqvae");
  EXPECT_EQ(vq.code, 2);
  EXPECT_TRUE(contains(vq.err, "tiny-amused/vqvae/config.json")) << vq.err;
  EXPECT_TRUE(contains(vq.err, "\"VQModel\"")) << vq.err;
  auto odd = run_catimage("bench --arch " + fx + "tiny-amused/transformer --size 72");
  EXPECT_EQ(odd.code, 2);
  EXPECT_TRUE(contains(odd.err, "multiple of 16")) << odd.err;
}

// What `route` delivers on a table's prompts (each routed prompt's true quality from the table, its
// cost from the config) is exactly what `eval` reports for the same predictor, config and mode.
TEST(Cli, RouteDeliversWhatEvalReports) {
  auto d = temp_dir();
  const auto all = load_quality_table(shipped_table("clip"));
  std::vector<std::size_t> idx(300);
  for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = 7 * i;  // spread over the table
  const auto t = all.subset(idx);
  const auto table = (d / "t.jsonl").string();
  write_quality_table(table, t);  // also a prompt file: "id" and "prompt" per line
  const std::string cfg = std::string(CATIMAGE_SOURCE_DIR) + "/configs/default.json";
  std::map<std::string, std::size_t> row;
  for (std::size_t i = 0; i < t.rows.size(); ++i) row[t.rows[i].id] = i;
  for (const std::string mode : {"", "--objective savings", "--budget 0.3", "--margin 0"}) {
    SCOPED_TRACE(mode);
    auto r = run_catimage("route " + table + " -c " + cfg + " " + mode + " -o " + (d / "r.jsonl").string());
    ASSERT_EQ(r.code, 0) << r.err;
    double q = 0, c = 0;
    const auto routes = lines(slurp(d / "r.jsonl"));
    ASSERT_EQ(routes.size(), t.rows.size());
    for (const auto& j : routes) {
      const auto& rec = t.rows.at(row.at(j["id"].get<std::string>()));
      const auto k = std::find(t.candidates.begin(), t.candidates.end(), j["candidate"].get<std::string>());
      ASSERT_NE(k, t.candidates.end());
      q += rec.quality[k - t.candidates.begin()];
      c += j["cost"].get<double>();
    }
    q /= routes.size();
    c /= routes.size();
    r = run_catimage("eval -t " + table + " --predictor " + std::string(CATIMAGE_SOURCE_DIR) +
                     "/models/predictor-clip -c " + cfg + " " + mode + " --json");
    ASSERT_EQ(r.code, 0) << r.err;
    const json e = json::parse(r.out)["route"]["requested"];
    EXPECT_NEAR(e["quality"].get<double>(), q, 1e-9);
    EXPECT_NEAR(e["cost"].get<double>(), c, 1e-9);
  }
}

// On a terminal (or with --format table) route prints one readable row per prompt: the prompt cut
// to a column by characters (not bytes), the candidate, its predicted gain over the best single
// and its cost; piped, JSONL.
TEST(Cli, RouteTableFormatHasARowPerPrompt) {
  auto d = temp_dir();
  const auto prompts = write(d / "p.txt", "a white wall\n\xF0\x9F\x96\xBC \xC3\xA9t\xC3\xA9 \xC3\xA0 Paris, " +
                                              std::string(60, 'x') + "\nportrait of a knight\n");
  auto r = run_catimage("route " + prompts + " --format table");
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream in(r.out);
  std::vector<std::string> rows;
  for (std::string l; std::getline(in, l);) rows.push_back(l);
  ASSERT_EQ(rows.size(), 4u) << r.out;
  EXPECT_TRUE(contains(rows[0], "prompt") && contains(rows[0], "candidate") && contains(rows[0], "cost")) << rows[0];
  EXPECT_EQ(rows[1].rfind("a white wall", 0), 0u) << rows[1];
  EXPECT_TRUE(contains(rows[2], "\xE2\x80\xA6")) << rows[2];  // cut with an ellipsis, a whole character
  for (std::size_t i = 1; i < rows.size(); ++i) EXPECT_TRUE(contains(rows[i], "SDXL-Turbo") || contains(rows[i], "SD-Turbo") || contains(rows[i], "TAESD") || contains(rows[i], "amused")) << rows[i];
  r = run_catimage("route " + prompts + " --format jsonl");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(lines(r.out).size(), 3u);
  EXPECT_EQ(run_catimage("route " + prompts).out, r.out);  // piped: JSONL
  EXPECT_EQ(run_catimage("route " + prompts + " --format csv").code, 2);
}

TEST(Cli, LowerBoundErrorsSayTheBoundNotTheLargestDouble) {
  Fixture f;
  const std::string gen = "generate " + f.prompts + " -c " + f.config + " --candidate small";
  const std::string route = "route " + f.prompts + " --config " + f.config + " --predictions " + f.preds;
  for (auto [args, expect] : std::vector<std::pair<std::string, std::string>>{
           {gen + " --steps 0", "--steps: must be >= 1, got 0"},
           {gen + " --width -8", "--width: must be >= 1, got -8"},
           {route + " --lambda -1", "--lambda: must be >= 0, got -1"},
           {route + " --margin -0.5", "--margin: must be >= 0, got -0.5"},
           {"cv -t /nonexistent.jsonl --cascade small --cascade-alpha 0", "--cascade-alpha: must be > 0, got 0"},
           {"--threads -2 " + route, "--threads: must be >= 0, got -2"}}) {
    auto r = run_catimage(args);
    EXPECT_EQ(r.code, 2) << args << ": " << r.err;
    EXPECT_TRUE(contains(r.err, expect)) << args << ": " << r.err;
    EXPECT_FALSE(contains(r.err, "0000000000")) << args << ": " << r.err;  // no 309-digit upper end
  }
}

TEST(Cli, ThreadsAboveTheCoreCountAreRefused) {
  const unsigned cores = std::thread::hardware_concurrency();
  if (cores == 0) GTEST_SKIP() << "the core count is unknown here: every --threads is accepted";
  Fixture f;
  const std::string route = " route " + f.prompts + " --config " + f.config + " --predictions " + f.preds;
  for (const std::string n : {std::to_string(cores + 1), std::string("100000")}) {
    auto r = run_catimage("--threads " + n + route);
    EXPECT_EQ(r.code, 2) << n << ": " << r.err;
    EXPECT_TRUE(contains(r.err, "--threads: " + n + " is more than the " + std::to_string(cores) + " cores")) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  auto r = run_catimage("--threads " + std::to_string(cores) + route);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(run_catimage("--threads 0" + route).code, 0);  // 0: all cores
}

TEST(Cli, SeedsOutsideZeroToTwoToTheSixtyFourAreRefusedLikeAPromptFileSeed) {
  Fixture f;
  const std::string rule = "is not an integer in [0, 2^64)";
  // the prompt file's rule
  auto jl = write(f.d / "s.jsonl", "{\"prompt\": \"a cat\", \"seed\": -5}\n");
  auto r = run_catimage("route " + jl + " --strict --config " + f.config + " --predictions " + f.preds);
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "s.jsonl:1: \"seed\" " + rule)) << r.err;
  // the same for every --seed option
  const std::string t = shipped_table();
  for (const std::string& cmd : std::vector<std::string>{"generate " + f.prompts + " -c " + f.config + " --candidate small",
                                "route " + f.prompts + " --config " + f.config + " --predictions " + f.preds +
                                    " --generate --out " + (f.d / "g").string(),
                                "sweep " + f.prompts + " -c " + f.config + " --out " + (f.d / "s").string(),
                                "split -t " + t + " -o " + (f.d / "split").string(), "train -t /nonexistent.jsonl",
                                "cv -t /nonexistent.jsonl", "random-weights /nonexistent", "bench --arch /nonexistent.json"})
    for (const std::string seed : {"-1", "-18446744073709551615", "18446744073709551616", "1.5"}) {
      r = run_catimage(cmd + " --seed " + seed);
      EXPECT_EQ(r.code, 2) << cmd << " --seed " << seed << ": " << r.err;
      EXPECT_TRUE(contains(r.err, "--seed: \"" + seed + "\" " + rule)) << cmd << " --seed " << seed << ": " << r.err;
    }
  // the largest seed is fine (here the missing weights fail later)
  r = run_catimage("generate " + f.prompts + " -c " + f.config + " --candidate small --seed 18446744073709551615");
  EXPECT_FALSE(contains(r.err, rule)) << r.err;
}
