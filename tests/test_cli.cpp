#include <gtest/gtest.h>

#include <sstream>

#include "catimage/io/json_file.hpp"
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
  auto src = std::string(CATIMAGE_SHARED_DATA) + "/cems-diffusiondb";
  auto table = (d / "clip.jsonl").string();
  auto r = run_catimage("import cems " + src + " --metric clip -o " + table);
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_TRUE(std::filesystem::exists(d / "clip.candidates.json"));
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
  EXPECT_EQ(out.size(), 8u);
  for (const auto& j : out) {
    EXPECT_TRUE(j.contains("candidate"));
    EXPECT_EQ(j["predicted"].size(), 4u);
  }
  EXPECT_TRUE(contains(r.err, "budget")) << r.err;
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
