// `catimage report`: the page of a cascade folder of the tiny models (every prompt, its kept and
// other image, their scores, escaped), of a sweep scored with two metrics, of a generation folder
// with its routes; folders of no kind refused; escaping, URLs, base64 and thumbnails.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#include <stb_image.h>

#include "catimage/batch/folder_report.hpp"
#include "catimage/batch/report_page.hpp"
#include "catimage/io/json_file.hpp"
#include "catimage/io/png_writer.hpp"
#include "catimage/io/thumbnail.hpp"
#include "catimage/util/base64.hpp"
#include "cli_helpers.hpp"
#include "tiny_models.hpp"

using namespace catimage;
using namespace catimage::test;
namespace fs = std::filesystem;

namespace {

const std::string kDataOpen = "<script type=\"application/json\" id=\"report-data\">";

// The page's data block, parsed.
json data_block(const std::string& html) {
  const auto at = html.find(kDataOpen);
  EXPECT_NE(at, std::string::npos);
  if (at == std::string::npos) return json();
  const auto begin = at + kDataOpen.size(), end = html.find("</script>", begin);
  EXPECT_NE(end, std::string::npos);
  return json::parse(html.substr(begin, end - begin));  // throws (fails the test) when it is not JSON
}

std::size_t occurrences(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

const json* image_of(const json& row, const std::string& file) {
  for (const auto& im : row["images"])
    if (im["file"] == file) return &im;
  return nullptr;
}

// file -> score, of a folder's score file.
std::map<std::string, double> scores_in(const fs::path& p) {
  std::map<std::string, double> out;
  for (const auto& j : manifest(p)) out[j["file"].get<std::string>()] = j["score"].get<double>();
  return out;
}

const std::string kInjection = "<script>alert(\"x\")</script> & 'q' </table><img src=x onerror=alert(1)>";

}  // namespace

TEST(Report, CascadeFolderShowsEveryPromptsKeptAndOtherImageWithTheirScores) {
  auto d = temp_dir();
  const auto cfg = tiny_config(d);
  const auto predictor = tiny_cascade_predictor(d);
  static const char* words[] = {"red", "cube", "dog", "cat", "dusk", "wall", "park", "neon", "city", "tree"};
  std::string text;
  const int n = 8;
  for (int i = 0; i < n - 1; ++i)
    text += std::string(words[i % 10]) + " " + words[(3 * i + 1) % 10] + " " + words[(7 * i + 2) % 10] + " " +
            std::to_string(i) + "\n";
  text += kInjection + "\n";  // a prompt is user input
  const auto prompts = write(d / "p.txt", text);
  const fs::path out = d / "out";
  ASSERT_EQ(run_to_end({CATIMAGE_BINARY, "-q", "route", prompts, "-c", cfg, "--generate", "--cascade",
                        "--cascade-predictor", predictor, "--scorer", tiny_clip(), "--keep-best", "--budget", "2.5",
                        "--out", out.string(), "--seed", "5"}),
            0);
  const auto records = manifest(out / "cascade.jsonl");
  ASSERT_EQ(records.size(), static_cast<std::size_t>(n));
  const auto scores = scores_in(out / "scores-clipscore.jsonl");

  auto r = run_catimage("report " + out.string());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "cascade folder, 8 prompts")) << r.out;
  const std::string html = slurp(out / "report.html");
  const json data = data_block(html);
  EXPECT_EQ(data["kind"], "cascade");
  EXPECT_EQ(data["metrics"], json::array({"clipscore"}));
  EXPECT_EQ(data["cascade_metric"], "clipscore");
  EXPECT_EQ(data["first"], "small");
  ASSERT_EQ(data["rows"].size(), records.size());
  std::size_t escalated = 0;
  std::vector<double> kept_scores;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const json& rec = records[i];
    const json& row = data["rows"][i];
    EXPECT_EQ(row["id"], rec["id"]);
    EXPECT_EQ(row["prompt"], rec["prompt"]);  // exactly the prompt, whatever it holds
    EXPECT_EQ(row["chosen"], rec["candidate"]);
    EXPECT_EQ(row["escalated"], rec["escalated"]);
    EXPECT_DOUBLE_EQ(row["cost"].get<double>(), rec["cost"].get<double>());
    EXPECT_EQ(row["predicted"], rec["predicted"]);
    EXPECT_DOUBLE_EQ(row["details"]["observed"].get<double>(), rec["observed"].get<double>());
    // the kept image, linked relative to the page (inside the folder), with its score
    const std::string kept = rec["kept_file"];
    const json* k = image_of(row, kept);
    ASSERT_NE(k, nullptr) << kept;
    EXPECT_EQ((*k)["kept"], true);
    EXPECT_EQ((*k)["src"], kept);
    EXPECT_TRUE(fs::is_regular_file(out / (*k)["src"].get<std::string>()));
    ASSERT_TRUE(scores.count(kept));
    EXPECT_DOUBLE_EQ((*k)["scores"]["clipscore"].get<double>(), scores.at(kept));
    kept_scores.push_back(scores.at(kept));
    const json* first = image_of(row, rec["first_file"]);
    ASSERT_NE(first, nullptr);
    EXPECT_EQ((*first)["role"], "first");
    EXPECT_DOUBLE_EQ((*first)["scores"]["clipscore"].get<double>(), rec["observed"].get<double>());
    if (rec["escalated"].get<bool>()) {
      ++escalated;
      const std::string other = rec["other_file"];
      const json* o = image_of(row, other);
      ASSERT_NE(o, nullptr) << other;
      EXPECT_FALSE(o->value("kept", false));
      EXPECT_EQ((*o)["src"], other);
      EXPECT_TRUE(fs::is_regular_file(out / other));
      const json* second = image_of(row, rec["second_file"]);
      ASSERT_NE(second, nullptr);
      EXPECT_EQ((*second)["role"], "second");
      EXPECT_EQ((*second)["candidate"], rec["candidate"]);
      EXPECT_DOUBLE_EQ((*second)["scores"]["clipscore"].get<double>(), rec["second_score"].get<double>());
      EXPECT_DOUBLE_EQ(row["details"]["second_score"].get<double>(), rec["second_score"].get<double>());
      EXPECT_EQ(row["images"].size(), 2u);
    } else {
      EXPECT_EQ(row["images"].size(), 1u);
    }
  }
  EXPECT_GT(escalated, 0u);
  EXPECT_LT(escalated, records.size());
  // the summary is HTML: the kept images' mean score, each candidate's kept count
  double mean = 0;
  for (double s : kept_scores) mean += s;
  mean /= kept_scores.size();
  EXPECT_TRUE(contains(html, fmt::format("<td>{:.4g}</td>", mean))) << fmt::format("{:.4g}", mean);
  EXPECT_TRUE(contains(html, "<td>small</td>"));
  EXPECT_TRUE(contains(html, fmt::format("{} escalated", escalated)));
  // the injected prompt is data, never markup: only the page's own two scripts, its text escaped
  EXPECT_EQ(occurrences(html, "<script"), 2u);
  EXPECT_EQ(occurrences(html, "</script>"), 2u);
  EXPECT_FALSE(contains(html,
                        "alert"
                        "(\"x\")</"))
      << "raw prompt in the page";
  EXPECT_FALSE(contains(html, "<img src=x"));
  EXPECT_TRUE(contains(html, "\\u003cscript\\u003ealert(\\\"x\\\")\\u003c/script\\u003e \\u0026 'q'"));
  EXPECT_EQ(data["rows"][n - 1]["prompt"], kInjection);

  // --embed: one portable file anywhere; the 16² PNGs fit a thumbnail and go in as they are
  fs::create_directories(d / "elsewhere");
  r = run_catimage("report " + out.string() + " --embed -o " + (d / "elsewhere" / "r.html").string());
  ASSERT_EQ(r.code, 0) << r.err;
  const json e = data_block(slurp(d / "elsewhere" / "r.html"));
  ASSERT_EQ(e["rows"].size(), records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    const std::string kept = records[i]["kept_file"];
    const json* k = image_of(e["rows"][i], kept);
    ASSERT_NE(k, nullptr);
    EXPECT_EQ((*k)["src"], "data:image/png;base64," + base64(slurp(out / kept)));
    EXPECT_EQ((*k)["href"], "../out/" + kept);  // the full file, while the folder is beside the page
  }
  // smaller thumbnails are shrunk JPEGs
  r = run_catimage("report " + out.string() + " --embed --thumb 8 -o " + (d / "small.html").string());
  ASSERT_EQ(r.code, 0) << r.err;
  const json s = data_block(slurp(d / "small.html"));
  const std::string src = s["rows"][0]["images"][0]["src"];
  EXPECT_EQ(src.rfind("data:image/jpeg;base64,", 0), 0u) << src.substr(0, 40);
}

TEST(Report, SweepShowsEachPromptsRowAcrossCandidatesWithEveryMetric) {
  auto d = temp_dir();
  const auto cfg = tiny_config(d);
  const auto prompts = write(d / "p.txt", "a red cube\na dog at dusk\nneon city\n");
  const fs::path S = d / "sweep";
  ASSERT_EQ(run_catimage("-q sweep -c " + cfg + " --candidates small,xl " + prompts + " --out " + S.string()).code, 0);
  auto r = run_catimage("-q score " + S.string() + " --metric clipscore,nima --scorer " + tiny_clip() + " --scorer " +
                        tiny_nima());
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(run_catimage("-q table " + S.string()).code, 0);
  r = run_catimage("report " + S.string());
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string html = slurp(S / "report.html");
  const json data = data_block(html);
  EXPECT_EQ(data["kind"], "sweep");
  EXPECT_EQ(data["metrics"], json::array({"clipscore", "nima"}));
  ASSERT_EQ(data["candidates"].size(), 2u);
  EXPECT_EQ(data["candidates"][0]["name"], "small");
  EXPECT_EQ(data["candidates"][1]["name"], "xl");
  for (const auto& c : data["candidates"]) EXPECT_EQ(c["measured"], true) << c;  // candidates-measured.json
  const auto clip = scores_in(S / "scores-clipscore.jsonl"), nima = scores_in(S / "scores-nima.jsonl");
  ASSERT_EQ(data["rows"].size(), 3u);
  const std::vector<std::string> texts = {"a red cube", "a dog at dusk", "neon city"};
  for (std::size_t i = 0; i < 3; ++i) {
    const json& row = data["rows"][i];
    EXPECT_EQ(row["prompt"], texts[i]);
    ASSERT_EQ(row["images"].size(), 2u);  // the prompt's row across the candidates, in their order
    for (std::size_t k = 0; k < 2; ++k) {
      const json& im = row["images"][k];
      const std::string file = im["file"];
      EXPECT_EQ(im["candidate"], k == 0 ? "small" : "xl");
      EXPECT_EQ(file, im["candidate"].get<std::string>() + "/" + row["id"].get<std::string>() + ".png");
      EXPECT_DOUBLE_EQ(im["scores"]["clipscore"].get<double>(), clip.at(file));
      EXPECT_DOUBLE_EQ(im["scores"]["nima"].get<double>(), nima.at(file));
      EXPECT_TRUE(im["seconds"].is_number());
    }
  }
  EXPECT_TRUE(contains(html, "<th>mean clipscore</th><th>mean nima</th>"));
  EXPECT_TRUE(contains(html, "table-clipscore.jsonl"));  // what was read
}

namespace {

// A generation folder written by hand (route --generate's layout): three prompts, their PNGs,
// the manifest, the routes and a score file with one score of an image made again since.
fs::path hand_made_generation(const fs::path& d) {
  const fs::path g = d / "gen";
  fs::create_directories(g);
  std::vector<unsigned char> px(4 * 4 * 3, 90);
  std::string m, routes, scores;
  const std::vector<std::string> cands = {"fast", "slow", "fast"};
  for (int i = 0; i < 3; ++i) {
    const std::string id = std::to_string(i + 1), file = id + ".png";
    write_png((g / file).string(), px.data(), 4, 4);
    m += json{{"file", file},       {"key", "k" + id},       {"id", id},       {"index", i},
              {"prompt", "p" + id}, {"candidate", cands[i]}, {"seed", i + 10}, {"seconds", 0.5 + i}}
             .dump() +
         "\n";
    routes += json{{"line", i + 1},
                   {"id", id},
                   {"prompt", "p" + id},
                   {"candidate", cands[i]},
                   {"cost", cands[i] == "fast" ? 1.0 : 3.0},
                   {"predicted", {{"fast", 20.0 + i}, {"slow", 21.5}}},
                   {"margin", 0.25},
                   {"fallback", i == 2}}
                  .dump() +
              "\n";
    scores +=
        json{{"file", file}, {"metric", "clipscore"}, {"score", 30.0 + i}, {"key", i == 1 ? "old" : "k" + id}}.dump() +
        "\n";
  }
  routes += json{{"line", 4}, {"id", "4"}, {"prompt", "p4"}, {"candidate", "slow"}, {"cost", 3.0}}.dump() + "\n";
  write(g / "manifest.jsonl", m);
  write(g / "routes.jsonl", routes);
  write(g / "scores-clipscore.jsonl", scores);
  return g;
}

}  // namespace

TEST(Report, GenerationFolderWithItsRoutesAndScoresOfTheImagesNowOnDisk) {
  auto d = temp_dir();
  const fs::path g = hand_made_generation(d);
  const FolderReport r = read_folder_report(g.string());
  EXPECT_EQ(r.kind, FolderKind::generation);
  ASSERT_EQ(r.rows.size(), 4u);  // the three made and the one routed but not made yet
  EXPECT_EQ(r.rows[0].chosen, "fast");
  EXPECT_EQ(r.rows[1].chosen, "slow");
  EXPECT_DOUBLE_EQ(*r.rows[1].cost, 3.0);
  EXPECT_DOUBLE_EQ(r.rows[1].predicted["slow"].get<double>(), 21.5);
  EXPECT_EQ(r.rows[2].details["fallback"], true);
  EXPECT_DOUBLE_EQ(r.rows[2].details["margin"].get<double>(), 0.25);
  ASSERT_EQ(r.rows[0].images.size(), 1u);
  EXPECT_TRUE(r.rows[0].images[0].kept);
  EXPECT_DOUBLE_EQ(r.rows[0].images[0].scores.at("clipscore"), 30.0);
  EXPECT_TRUE(r.rows[1].images[0].scores.empty());  // its score belongs to an earlier image
  EXPECT_DOUBLE_EQ(*r.rows[2].images[0].seconds, 2.5);
  EXPECT_EQ(r.rows[3].prompt, "p4");
  EXPECT_TRUE(r.rows[3].images.empty());
  ASSERT_EQ(r.notes.size(), 2u);
  EXPECT_TRUE(contains(r.notes[0], "scores-clipscore.jsonl: 1 score(s) of images generated again since")) << r.notes[0];
  EXPECT_TRUE(contains(r.notes[1], "1 routed prompt(s) have no image")) << r.notes[1];
  const std::string html = render_report_page(r, {(d / "r.html").string()});
  EXPECT_EQ(data_block(html)["rows"][0]["images"][0]["src"], "gen/1.png");
  EXPECT_TRUE(contains(html, "<li>scores-clipscore.jsonl: 1 score(s)"));
  // --routes names another routes file; without one, none
  fs::rename(g / "routes.jsonl", d / "routes.jsonl");
  EXPECT_EQ(read_folder_report(g.string(), {(d / "routes.jsonl").string()}).rows[1].chosen, "slow");
  const FolderReport plain = read_folder_report(g.string());
  EXPECT_EQ(plain.rows.size(), 3u);
  EXPECT_TRUE(plain.rows[0].predicted.is_null());
  EXPECT_EQ(plain.rows[1].chosen, "slow");  // the candidate of its only image
}

TEST(Report, RefusesFoldersOfNoKindAndRecordsThatAreNotWhatTheirWriterWrites) {
  auto d = temp_dir();
  auto r = run_catimage("report " + (d / "nothing").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "nothing: no such folder")) << r.err;
  fs::create_directories(d / "empty");
  write(d / "empty" / "notes.txt", "x");
  r = run_catimage("report " + (d / "empty").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "not a generation, sweep or cascade folder")) << r.err;
  EXPECT_FALSE(fs::exists(d / "empty" / "report.html"));

  const fs::path g = hand_made_generation(d);
  write(g / "bad-routes.jsonl", "{\"id\": \"1\", \"candidate\": \"fast\"}\n{\"id\": \"2\", \"candidate\": 3}\n");
  r = run_catimage("report " + g.string() + " --routes " + (g / "bad-routes.jsonl").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "bad-routes.jsonl:2: \"candidate\" must be a string, got number")) << r.err;
  r = run_catimage("report " + g.string() + " --routes " + (g / "none.jsonl").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "none.jsonl: no such file")) << r.err;
  r = run_catimage("report " + g.string() + " --thumb 64");
  EXPECT_EQ(r.code, 2);  // --thumb needs --embed

  // a cascade record whose kept file is neither of its images; and the future per-metric block
  const fs::path c = d / "cascade";
  fs::create_directories(c);
  json rec = {{"id", "1"},
              {"prompt", "p"},
              {"first", "small"},
              {"first_file", "small/1.png"},
              {"observed", 20.0},
              {"escalated", true},
              {"candidate", "xl"},
              {"cost", 4.0},
              {"predicted", {{"small", 20.0}, {"xl", 21.0}}},
              {"second_file", "xl/1.png"},
              {"kept_file", "xl/1.png"},
              {"other_file", "small/1.png"},
              {"file", "1.png"},
              {"metrics", {{"nima", {{"observed", 4.5}, {"second_score", 4.75}, {"predicted", {{"xl", 4.6}}}}}}}};
  write(c / "cascade.jsonl", rec.dump() + "\n");
  const FolderReport ok = read_folder_report(c.string());
  EXPECT_EQ(ok.kind, FolderKind::cascade);
  EXPECT_DOUBLE_EQ(ok.rows[0].details["metrics"]["nima"]["second_score"].get<double>(), 4.75);
  EXPECT_FALSE(ok.rows[0].images[0].on_disk);  // no images in this folder: shown as missing
  EXPECT_TRUE(ok.rows[0].images[1].kept);
  rec["kept_file"] = "mid/1.png";
  write(c / "cascade.jsonl", rec.dump() + "\n");
  r = run_catimage("report " + c.string());
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "cascade.jsonl:1: \"kept_file\" mid/1.png is neither")) << r.err;
  rec["kept_file"] = "xl/1.png";
  rec["metrics"]["nima"]["observed"] = "high";
  write(c / "cascade.jsonl", rec.dump() + "\n");
  r = run_catimage("report " + c.string());
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "cascade.jsonl:1 (metrics.nima): \"observed\" must be a number, got string")) << r.err;
  r = run_catimage("report " + c.string() + " --routes " + (g / "routes.jsonl").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "routes belong to a generation folder")) << r.err;
}

TEST(Report, EscapesTextAndUrlsAndEncodesBase64) {
  EXPECT_EQ(escape_html("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  const std::string j = script_json(json{{"p", "</script><!-- & \xff"}});
  EXPECT_EQ(j, "{\"p\":\"\\u003c/script\\u003e\\u003c!-- \\u0026 \xEF\xBF\xBD\"}");  // invalid UTF-8 replaced
  EXPECT_EQ(json::parse(j)["p"], "</script><!-- & \xEF\xBF\xBD");
  EXPECT_EQ(url_path("../a b/c#d?e%f@g.png"), "../a%20b/c%23d%3Fe%25f%40g.png");
  EXPECT_EQ(url_path("javascript:alert(1)"), "javascript%3Aalert%281%29");  // never a scheme
  // RFC 4648's test vectors
  const std::vector<std::pair<std::string, std::string>> v = {{"", ""},
                                                              {"f", "Zg=="},
                                                              {"fo", "Zm8="},
                                                              {"foo", "Zm9v"},
                                                              {"foob", "Zm9vYg=="},
                                                              {"fooba", "Zm9vYmE="},
                                                              {"foobar", "Zm9vYmFy"}};
  for (const auto& [in, out] : v) EXPECT_EQ(base64(in), out) << in;
  EXPECT_EQ(base64(std::string("\xff\x00\x80", 3)), "/wCA");
}

TEST(Report, ThumbnailsKeepSmallPngsAndShrinkLargeOnesByAveraging) {
  // 40x20: left half (0, 0, 0), right half (200, 100, 50)
  std::vector<unsigned char> px(40 * 20 * 3, 0);
  for (int y = 0; y < 20; ++y)
    for (int x = 20; x < 40; ++x) {
      px[(y * 40 + x) * 3 + 0] = 200;
      px[(y * 40 + x) * 3 + 1] = 100;
      px[(y * 40 + x) * 3 + 2] = 50;
    }
  const std::string png = encode_png(px.data(), 40, 20);
  const Thumbnail same = make_thumbnail(png, 40, "a.png");
  EXPECT_EQ(same.mime, "image/png");
  EXPECT_EQ(same.bytes, png);
  const Thumbnail t = make_thumbnail(png, 10, "a.png");
  EXPECT_EQ(t.mime, "image/jpeg");
  EXPECT_EQ(t.width, 10);
  EXPECT_EQ(t.height, 5);
  int w = 0, h = 0, c = 0;
  stbi_uc* dec = stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(t.bytes.data()),
                                       static_cast<int>(t.bytes.size()), &w, &h, &c, 3);
  ASSERT_NE(dec, nullptr);
  EXPECT_EQ(w, 10);
  EXPECT_EQ(h, 5);
  // each half keeps its colour (JPEG within a few levels, away from the edge)
  for (int y = 0; y < 5; ++y) {
    EXPECT_NEAR(dec[(y * 10 + 1) * 3 + 0], 0, 8);
    EXPECT_NEAR(dec[(y * 10 + 8) * 3 + 0], 200, 8);
    EXPECT_NEAR(dec[(y * 10 + 8) * 3 + 1], 100, 8);
    EXPECT_NEAR(dec[(y * 10 + 8) * 3 + 2], 50, 8);
  }
  stbi_image_free(dec);
  EXPECT_TRUE(contains(error_message([] { make_thumbnail("not an image", 10, "b.png"); }), "b.png: cannot read"));
}
