#include <gtest/gtest.h>

#include <fstream>

#include "catimage/io/cems_import.hpp"
#include "catimage/io/csv_reader.hpp"
#include "catimage/io/quality_table.hpp"
#include "catimage/util/error.hpp"
#include "test_util.hpp"

using namespace catimage;
using namespace catimage::test;

namespace {

std::string table_error(const std::string& text) {
  auto d = temp_dir();
  try {
    load_quality_table(write(d / "t.jsonl", text));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Copies the header and the first `n` data records of every CEMS CSV of `metric` into `dir`.
void slice_cems(const std::filesystem::path& dir, const std::string& metric, int n) {
  const std::string src = cems_fixture_dir();
  for (const auto& e : std::filesystem::directory_iterator(src)) {
    auto name = e.path().filename().string();
    if (name.rfind(metric + "_", 0) != 0) continue;
    std::ifstream in(e.path());
    std::ofstream out(dir / name);
    std::string line;
    for (int i = 0; i <= n && std::getline(in, line); ++i) out << line << "\n";
  }
}

}  // namespace

TEST(QualityTable, ReadsWritesAndReorders) {
  auto d = temp_dir();
  auto p = write(d / "t.jsonl",
                 "\xEF\xBB\xBF{\"id\": \"a\", \"prompt\": \"x\", \"quality\": {\"m1\": 1, \"m2\": 2}, \"cost\": "
                 "{\"m1\": 0.5, \"m2\": 1}}\r\n"
                 "{\"id\": 7, \"prompt\": \"y\", \"quality\": {\"m2\": 4, \"m1\": 3}}\n\n");
  auto t = load_quality_table(p);
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.candidates, (std::vector<std::string>{"m1", "m2"}));
  EXPECT_EQ(t.rows[1].id, "7");
  EXPECT_EQ(t.rows[1].quality, (std::vector<double>{3, 4}));
  EXPECT_TRUE(t.rows[1].cost.empty());
  EXPECT_EQ(t.mean_costs(), (std::vector<double>{0.5, 1}));
  EXPECT_EQ(t.mean_quality(), (std::vector<double>{2, 3}));
  auto r = t.reordered({"m2", "m1"});
  EXPECT_EQ(r.rows[0].quality, (std::vector<double>{2, 1}));
  const Matrix q = r.quality_matrix();  // rows x candidates, in the table's candidate order
  ASSERT_EQ(q.rows, 2u);
  ASSERT_EQ(q.cols, 2u);
  EXPECT_EQ(q.data, (std::vector<double>{2, 1, 4, 3}));
  write_quality_table((d / "u.jsonl").string(), t);
  auto u = load_quality_table((d / "u.jsonl").string());
  EXPECT_EQ(u.rows[0].quality, t.rows[0].quality);
  EXPECT_EQ(u.rows[1].prompt, "y");
}

TEST(QualityTable, ErrorsNameLineAndKey) {
  const std::string ok = R"({"id": "a", "prompt": "x", "quality": {"m1": 1, "m2": 2}})";
  struct Case {
    std::string text, expect;
  };
  std::vector<Case> cases = {
      {ok + "\n" + R"({"id": "b", "prompt": "y", "quality": {"m1": 1}})",
       "t.jsonl:2: \"quality\" lacks candidate \"m2\""},
      {ok + "\n" + R"({"id": "b", "prompt": "y", "quality": {"m1": 1, "m2": 2, "m3": 3}})",
       "t.jsonl:2: quality.\"m3\": unknown candidate"},
      {ok + "\n" + R"({"id": "a", "prompt": "y", "quality": {"m1": 1, "m2": 2}})", "t.jsonl:2: duplicate id \"a\""},
      {ok + "\n" + R"({"id": "b", "prompt": "y", "quality": {"m1": "1", "m2": 2}})",
       "t.jsonl:2: quality.\"m1\": expected a number"},
      {ok + "\n" + R"({"id": "b", "prompt": "y", "quality": {"m1": 1, "m2": 2}, "cost": {"m1": -1, "m2": 1}})",
       "t.jsonl:2: cost.\"m1\": negative cost"},
      {ok + "\n" + R"({"id": "b", "prompt": "y", "quality": {"m1": 1, "m2": 2}, "extra": 1})",
       "t.jsonl:2: unknown key \"extra\""},
      {ok + "\n{\"id\": \"b\", \"prompt\": ", "t.jsonl:2:"},
      {R"({"prompt": "y", "quality": {"m1": 1}})", "t.jsonl:1: missing key \"id\""},
      {"", "has no rows"},
  };
  for (const auto& c : cases) {
    auto e = table_error(c.text);
    EXPECT_TRUE(contains(e, c.expect)) << "expected «" << c.expect << "» in «" << e << "»";
  }
  EXPECT_THROW(load_quality_table("/nonexistent/t.jsonl"), Error);
}

TEST(CemsImport, RoundTripOnARealSlice) {
  auto d = temp_dir();
  slice_cems(d, "clip", 40);
  auto imp = import_cems(d.string(), "clip");
  ASSERT_EQ(imp.table.candidates, (std::vector<std::string>{"SD-Turbo", "SDXL-Turbo", "TAESD", "amused"}));
  ASSERT_EQ(imp.table.rows.size(), 40u);
  write_quality_table((d / "t.jsonl").string(), imp.table);
  auto t = load_quality_table((d / "t.jsonl").string());
  ASSERT_EQ(t.rows.size(), 40u);
  // Compare every value with the CSV it came from.
  for (std::size_t m = 0; m < t.candidates.size(); ++m) {
    std::ifstream in(d / ("clip_score_with_time_" + t.candidates[m] + ".csv"));
    CsvReader r(in, "csv");
    std::vector<std::string> f;
    r.next(f);
    for (std::size_t i = 0; r.next(f); ++i) {
      EXPECT_EQ(t.rows[i].id, f[1]);
      EXPECT_EQ(t.rows[i].prompt, f[2]);
      EXPECT_DOUBLE_EQ(t.rows[i].cost[m], std::stod(f[3]));
      EXPECT_DOUBLE_EQ(t.rows[i].quality[m], std::stod(f[4]));
    }
  }
  // config cost = mean of per-prompt times
  auto mc = t.mean_costs();
  for (std::size_t m = 0; m < mc.size(); ++m) EXPECT_NEAR(imp.config.candidates[m].cost, mc[m], 1e-12);
  EXPECT_EQ(imp.config.candidates[1].family, "sdxl");
}

TEST(CemsImport, AcceptsAnyFolderOfTheSameLayoutAndRejectsMismatches) {
  auto d = temp_dir();
  slice_cems(d, "nima", 12);
  auto imp = import_cems(d.string(), "nima");
  EXPECT_EQ(imp.table.rows.size(), 12u);
  EXPECT_THROW(import_cems(d.string(), "clip"), Error);  // no clip files here
  // drop one prompt from one model: a clear error naming the file and the prompt id
  std::string path = (d / "nima_score_with_time_TAESD.csv").string();
  std::string text = slurp(path);
  auto second = text.find('\n', text.find('\n') + 1);
  write(path, text.substr(0, text.find('\n') + 1) + text.substr(second + 1));
  try {
    import_cems(d.string(), "nima");
    FAIL();
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "is missing")) << e.what();
  }
  // a non-numeric score
  write(path, "dataset_id,prompt_id,prompt,mean_time,nima_score\nDIFF,X1,\"a, b\",0.1,oops\n");
  try {
    import_cems(d.string(), "nima");
    FAIL();
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "nima_score_with_time_TAESD.csv:2: column \"nima_score\"")) << e.what();
  }
}

TEST(QualityTable, ValuesBeyondTheBoundAreRefusedNamingLineCandidateValueAndBound) {
  const std::string ok = R"({"id": "a", "prompt": "x", "quality": {"m1": 1, "m2": 2}, "cost": {"m1": 1, "m2": 2}})";
  struct Case {
    std::string text, expect;
  };
  std::vector<Case> cases = {
      {ok + "\n" + R"({"id": "b", "prompt": "y", "quality": {"m1": 1, "m2": 1e308}, "cost": {"m1": 1, "m2": 2}})",
       "t.jsonl:2: quality.\"m2\": 1e+308 is out of range: |quality| must be <= 1e+06"},
      {ok + "\n" + R"({"id": "b", "prompt": "y", "quality": {"m1": -2e6, "m2": 1}, "cost": {"m1": 1, "m2": 2}})",
       "t.jsonl:2: quality.\"m1\": -2e+06 is out of range: |quality| must be <= 1e+06"},
      {ok + "\n" + R"({"id": "b", "prompt": "y", "quality": {"m1": 1, "m2": 2}, "cost": {"m1": 1e300, "m2": 2}})",
       "t.jsonl:2: cost.\"m1\": 1e+300 is out of range: cost must be <= 1e+06"},
  };
  for (const auto& c : cases) {
    auto e = table_error(c.text);
    EXPECT_TRUE(contains(e, c.expect)) << "expected «" << c.expect << "» in «" << e << "»";
  }
  // the bound itself is fine
  EXPECT_EQ(table_error(ok + "\n" + R"({"id": "b", "prompt": "y", "quality": {"m1": -1e6, "m2": 1e6}})"), "");
  // train, eval and cv refuse such a table before any work (train made a predictor route rejected)
  auto d = temp_dir();
  std::string text;
  for (int i = 0; i < 30; ++i)
    text += R"({"id": ")" + std::to_string(i) + R"(", "prompt": "a red cube number )" + std::to_string(i) +
            R"(", "quality": {"m1": 1, "m2": )" + (i == 7 ? std::string("1e308") : std::to_string(i)) + "}}\n";
  const auto big = write(d / "big.jsonl", text);
  for (const std::string cmd : {"train -t " + big + " -o " + (d / "pred").string(),
                                "eval -t " + big + " --predictions " + big, "cv -t " + big}) {
    auto r = run_catimage(cmd);
    EXPECT_EQ(r.code, 2) << cmd << ": " << r.err;
    EXPECT_TRUE(contains(r.err, "big.jsonl:8: quality.\"m2\": 1e+308 is out of range")) << cmd << ": " << r.err;
  }
}
