#include <sys/stat.h>

#include <gtest/gtest.h>

#include "catimage/batch/candidate_rules.hpp"
#include "catimage/io/atomic_file.hpp"
#include "catimage/io/candidates_config.hpp"
#include "catimage/util/error.hpp"
#include "test_util.hpp"

using namespace catimage;
using namespace catimage::test;

namespace {

std::string error_of(const std::string& text) {
  auto d = temp_dir();
  auto p = write(d / "c.json", text);
  try {
    load_candidates(p, runtime_candidate_rules());
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

const char* kGood = R"({"candidates": [
  {"name": "a", "family": "sd15", "steps": 20, "scheduler": "ddim", "guidance": 7.5,
   "width": 512, "height": 512, "weights": "w/a", "cost": {"value": 1.5, "unit": "seconds"}},
  {"name": "b", "family": "sdxl", "cost": {"value": 0.2, "unit": "seconds", "estimate": true}}]})";

}  // namespace

TEST(Config, LoadsAValidConfigAndResolvesPaths) {
  auto d = temp_dir();
  // (it exists: a missing "w/a" would be the Hugging Face repo id w/a, kept as written, io/model_ref)
  std::filesystem::create_directories(d / "w/a");
  auto set = load_candidates(write(d / "c.json", kGood));
  ASSERT_EQ(set.size(), 2u);
  EXPECT_EQ(set.names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(set.costs(), (std::vector<double>{1.5, 0.2}));
  EXPECT_EQ(*set.candidates[0].weights, (d / "w/a").string());
  EXPECT_EQ(*set.candidates[0].steps, 20);
  EXPECT_FALSE(set.candidates[1].steps.has_value());
  EXPECT_EQ(set.cost_unit, "seconds");
  EXPECT_FALSE(set.candidates[0].cost_estimate);
  EXPECT_TRUE(set.candidates[1].cost_estimate);
  // round trip through JSON
  auto again = parse_candidates(candidates_to_json(set), "x", "");
  EXPECT_EQ(again.names(), set.names());
  EXPECT_EQ(again.costs(), set.costs());
  EXPECT_TRUE(again.candidates[1].cost_estimate);
}

TEST(Config, ShippedDefaultIsValid) {
  auto set = load_candidates(std::string(CATIMAGE_SOURCE_DIR) + "/configs/default.json");
  EXPECT_EQ(set.names(), (std::vector<std::string>{"SD-Turbo", "SDXL-Turbo", "TAESD", "amused"}));
}

TEST(Config, ErrorsNameFileAndKey) {
  struct Case {
    std::string text, expect;
  };
  std::vector<Case> cases = {
      {R"({"candidates": [{"name": "a", "family": "sd15", "cost": {"value": 1, "unit": "seconds"}, "stepz": 3}]})",
       "candidates[0] (\"a\").stepz: unknown key"},
      {R"({"candidates": [{"name": "a", "family": "sd15", "cost": {"value": 1, "unit": "seconds"}},
                          {"name": "a", "family": "sd15", "cost": {"value": 2, "unit": "seconds"}}]})",
       "candidates[1] (\"a\").name: duplicate candidate name"},
      {R"({"candidates": [{"name": "a", "family": "sd15", "cost": {"value": -1, "unit": "seconds"}}]})",
       "cost.value: -1 must be a finite number >= 0"},
      {R"({"candidates": [{"name": "a", "family": "sd15", "cost": {"value": 1, "unit": "seconds"}},
                          {"name": "b", "family": "sd15", "cost": {"value": 2, "unit": "tflops"}}]})",
       "cost.unit: \"tflops\" differs from the first candidate's \"seconds\""},
      {R"({"candidates": [{"name": "a", "family": "sd9", "cost": {"value": 1, "unit": "seconds"}}]})",
       "family: \"sd9\" is not one of"},
      {R"({"candidates": [{"name": "a", "family": "sd15", "scheduler": "heun", "cost": {"value": 1, "unit": "seconds"}}]})",
       "scheduler: sampler \"heun\" is unknown; accepted: DDIM, Euler, Euler a (euler_ancestral)"},
      {R"({"candidates": [{"name": "a", "family": "sd15", "steps": "20", "cost": {"value": 1, "unit": "seconds"}}]})",
       "steps: expected an integer"},
      {R"({"candidates": [{"name": "a", "family": "sd15", "width": 500, "cost": {"value": 1, "unit": "seconds"}}]})",
       "width: 500 is not a multiple of 8"},
      {R"({"candidates": [{"name": "a", "family": "sd15"}]})", "cost: missing (required)"},
      {R"({"candidates": [{"name": "a", "family": "sd15", "cost": 3}]})", "cost: expected an object"},
      {R"({"candidates": [{"name": "a", "family": "sd15", "cost": {"value": 1, "unit": "seconds", "estimate": 1}}]})",
       "cost.estimate: expected true or false, got 1"},
      {R"({"candidates": []})", "candidates: the list is empty"},
      {R"({"candidatez": []})", "unknown top-level key \"candidatez\""},
      {"{\"candidates\": [\n  {\"name\": \"a\",,}\n]}", "c.json:2:"},
  };
  for (const auto& c : cases) {
    auto e = error_of(c.text);
    EXPECT_TRUE(contains(e, c.expect)) << "expected «" << c.expect << "» in «" << e << "»";
    EXPECT_TRUE(contains(e, "c.json")) << e;
  }
}

TEST(Config, MatchCandidatesRejectsDifferentSets) {
  auto d = temp_dir();
  auto set = load_candidates(write(d / "c.json", kGood));
  EXPECT_EQ(match_candidates(set, {"b", "a"}, "t"), (std::vector<int>{1, 0}));
  EXPECT_THROW(match_candidates(set, {"a"}, "t"), Error);
  EXPECT_THROW(match_candidates(set, {"a", "b", "c"}, "t"), Error);
}

TEST(Config, NumbersTooLargeForADoubleAreClearErrors) {
  // Found by tests/fuzz/fuzz_candidates: 1e400 escaped parse_json as nlohmann's out_of_range.
  auto e = error_of("{\"candidates\": [\n  {\"name\": \"a\", \"family\": \"sd15\", \"cost\": {\"value\": 1e400}}]}");
  EXPECT_TRUE(contains(e, "c.json:2:53: invalid JSON: number overflow parsing '1e400'")) << e;
}

TEST(AtomicFile, GetsTheModeAPlainCreateWouldGive) {
  // mkstemp makes 0600 files; outputs in shared folders must follow the umask instead.
  auto d = temp_dir();
  const mode_t old = ::umask(027);
  write_file_atomic((d / "a.json").string(), "{}");
  ::umask(002);
  write_file_atomic((d / "b.json").string(), "{}");
  ::umask(old);
  struct stat st {};
  ASSERT_EQ(::stat((d / "a.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  ASSERT_EQ(::stat((d / "b.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0664u);
}

TEST(Config, LoraIsValidatedAndKeptAsWritten) {
  const std::filesystem::path base = temp_dir();
  write(base / "mine.safetensors", "x");
  const json ok = json::parse(R"({"candidates": [{"name": "a", "family": "sd15", "weights": "w",
      "lora": [{"weights": "mine.safetensors", "scale": 0.5}, {"weights": "org/repo/sub/f.safetensors"},
               {"weights": "org/repo@v2"}],
      "cost": {"value": 1, "unit": "seconds"}}]})");
  const CandidateSet cs = parse_candidates(ok, "cfg.json", base.string());
  const auto& l = cs.candidates[0].lora;
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(l[0].weights, (base / "mine.safetensors").string());
  EXPECT_EQ(l[0].scale, 0.5);
  EXPECT_EQ(l[1].weights, "org/repo/sub/f.safetensors");  // a hub file reference, resolved when it loads
  EXPECT_EQ(l[1].scale, 1.0);
  EXPECT_EQ(l[2].weights, "org/repo@v2");
  EXPECT_EQ(parse_candidates(candidates_to_json(cs), "x", "").candidates[0].lora[2].weights, "org/repo@v2");

  auto bad = [&](const std::string& lora) {
    return error_message([&] {
      parse_candidates(json::parse(R"({"candidates": [{"name": "a", "family": "sd15", "lora": )" + lora +
                                   R"(, "cost": {"value": 1, "unit": "seconds"}}]})"),
                       "cfg.json", base.string());
    });
  };
  EXPECT_TRUE(contains(bad(R"({"weights": "x"})"), "cfg.json: candidates[0] (\"a\").lora: expected an array"));
  EXPECT_TRUE(
      contains(bad(R"([{"weights": "x", "alpha": 2}])"), "lora[0].alpha: unknown key (allowed: weights, scale)"));
  EXPECT_TRUE(contains(bad(R"([{"scale": 2}])"), "lora[0].weights: missing"));
  EXPECT_TRUE(contains(bad(R"([{"weights": "x"}, {"weights": "y", "scale": "1"}])"),
                       "lora[1].scale: expected a finite number"));
}
