#include <gtest/gtest.h>

#include "catimage/io/csv_reader.hpp"
#include "catimage/io/prompt_reader.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/strings.hpp"
#include "catimage/util/utf8.hpp"
#include "test_util.hpp"

using namespace catimage;
using namespace catimage::test;

TEST(Prompts, BadLinesAreReportedWithLineNumbersNotDropped) {
  auto d = temp_dir();
  std::string text =
      "\xEF\xBB\xBF"
      "a red book\r\n"                   // 1: BOM + CRLF
      "\r\n"                             // 2: empty
      "   \n"                            // 3: whitespace only
      "bad \xC3\x28 utf8\n"              // 4: invalid UTF-8
      + std::string("nul\0byte\n", 9) +  // 5: NUL
      std::string(300, 'x') +
      "\n"              // 6: too long for max_bytes=200
      "a yellow vase";  // 7: no final newline
  auto p = write(d / "p.txt", text);
  PromptReadOptions o;
  o.max_bytes = 200;
  auto f = read_prompts(p, o);
  ASSERT_EQ(f.prompts.size(), 2u);
  EXPECT_EQ(f.prompts[0].prompt, "a red book");
  EXPECT_EQ(f.prompts[0].line, 1);
  EXPECT_EQ(f.prompts[0].id, "1");
  EXPECT_EQ(f.prompts[1].prompt, "a yellow vase");
  EXPECT_EQ(f.prompts[1].line, 7);
  ASSERT_EQ(f.skipped.size(), 5u);
  EXPECT_EQ(f.skipped[0].line, 2);
  EXPECT_EQ(f.skipped[0].reason, "empty line");
  EXPECT_EQ(f.skipped[1].line, 3);
  EXPECT_TRUE(contains(f.skipped[2].reason, "invalid UTF-8 at byte 5")) << f.skipped[2].reason;
  EXPECT_TRUE(contains(f.skipped[3].reason, "NUL byte at byte 4")) << f.skipped[3].reason;
  EXPECT_TRUE(contains(f.skipped[4].reason, "300 bytes")) << f.skipped[4].reason;
  EXPECT_EQ(f.skipped[4].line, 6);

  o.strict = true;
  try {
    read_prompts(p, o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "p.txt:2: empty line")) << e.what();
  }
}

TEST(Prompts, JsonlAndCsvInputs) {
  auto d = temp_dir();
  auto j = write(d / "p.jsonl",
                 "{\"id\": \"x1\", \"prompt\": \"a cat\"}\n{\"prompt\": \"a dog\"}\nnot json\n{\"text\": 1}\n");
  auto f = read_prompts(j);
  ASSERT_EQ(f.prompts.size(), 2u);
  EXPECT_EQ(f.prompts[0].id, "x1");
  EXPECT_EQ(f.prompts[1].id, "2");
  ASSERT_EQ(f.skipped.size(), 2u);
  EXPECT_EQ(f.skipped[0].line, 3);
  EXPECT_TRUE(contains(f.skipped[0].reason, "invalid JSON"));
  EXPECT_TRUE(contains(f.skipped[1].reason, "no string \"prompt\""));

  auto c = write(d / "p.csv",
                 "prompt_id,prompt,other\r\nA1,\"a \"\"quoted\"\", comma, prompt\",z\nA2,\"two\nlines\",z\nA3,,z\n");
  auto g = read_prompts(c);
  ASSERT_EQ(g.prompts.size(), 2u);
  EXPECT_EQ(g.prompts[0].id, "A1");
  EXPECT_EQ(g.prompts[0].prompt, "a \"quoted\", comma, prompt");
  EXPECT_EQ(g.prompts[1].prompt, "two\nlines");
  EXPECT_EQ(g.prompts[1].line, 3);
  ASSERT_EQ(g.skipped.size(), 1u);
  EXPECT_EQ(g.skipped[0].line, 5);

  auto bad = write(d / "q.csv", "id,text\n1,a\n");
  EXPECT_THROW(read_prompts(bad), Error);
}

TEST(Prompts, BadCsvRowsAreSkippedLikeBadLines) {
  auto d = temp_dir();
  // line 3: stray quote; line 4: text after a closing quote; the rest still parses
  auto c = write(d / "p.csv", "id,prompt,seed\na,first,1\nb,bro\"ken,2\nc,\"x\"y,3\nd,last,\ne,bad seed,-4\n");
  auto f = read_prompts(c);
  ASSERT_EQ(f.prompts.size(), 2u);
  EXPECT_EQ(f.prompts[0].id, "a");
  EXPECT_EQ(*f.prompts[0].seed, 1u);
  EXPECT_EQ(f.prompts[1].id, "d");
  EXPECT_FALSE(f.prompts[1].seed.has_value());
  ASSERT_EQ(f.skipped.size(), 3u);
  EXPECT_EQ(f.skipped[0].line, 3);
  EXPECT_TRUE(contains(f.skipped[0].reason, "stray quote")) << f.skipped[0].reason;
  EXPECT_EQ(f.skipped[1].line, 4);
  EXPECT_TRUE(contains(f.skipped[2].reason, "\"seed\"")) << f.skipped[2].reason;
  PromptReadOptions strict;
  strict.strict = true;
  try {
    read_prompts(c, strict);
    FAIL();
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "p.csv:3: stray quote")) << e.what();
  }
  // an unterminated quote loses only its own line
  auto u = write(d / "u.csv", "prompt\n\"open\nnext\n");
  auto g = read_prompts(u);
  ASSERT_EQ(g.prompts.size(), 1u);
  EXPECT_EQ(g.prompts[0].prompt, "next");
}

TEST(Prompts, JsonArraysSeedsAndExtensions) {
  auto d = temp_dir();
  auto j =
      write(d / "p.json",
            R"(["a cat", {"id": "k", "prompt": "a dog", "seed": 42}, {"prompt": 3}, {"prompt": "x", "seed": -1}])");
  auto f = read_prompts(j);
  ASSERT_EQ(f.prompts.size(), 2u);
  EXPECT_EQ(f.prompts[0].id, "1");
  EXPECT_EQ(f.prompts[1].id, "k");
  EXPECT_EQ(*f.prompts[1].seed, 42u);
  ASSERT_EQ(f.skipped.size(), 2u);
  EXPECT_EQ(f.skipped[1].line, 4);
  EXPECT_THROW(read_prompts(write(d / "o.json", R"({"prompt": "one object"})")), Error);
  EXPECT_EQ(read_prompts(write(d / "noext", "a cat\n")).prompts.size(), 1u);
  try {
    read_prompts(write(d / "p.yaml", "- a cat\n"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "unknown prompt-file extension")) << e.what();
  }
}

TEST(Prompts, RealCorporaParseCompletely) {
  // Every row of the shipped corpora is a prompt or a reported skip.
  std::string dir = std::string(CATIMAGE_SHARED_DATA) + "/prompts/";
  if (!std::filesystem::exists(dir + "MS-COCO.csv") || !std::filesystem::exists(dir + "DiffusionDB_sample_seed42.csv"))
    GTEST_SKIP() << "the prompt corpora are not beside this checkout (" << dir
                 << "MS-COCO.csv, DiffusionDB_sample_seed42.csv): nothing to parse";
  auto coco = read_prompts(dir + "MS-COCO.csv");
  // 31,427 records (Python's csv module agrees); 119 captions span two lines.
  EXPECT_EQ(coco.prompts.size(), 31427u);
  EXPECT_TRUE(coco.skipped.empty());
  auto ddb = read_prompts(dir + "DiffusionDB_sample_seed42.csv");
  EXPECT_EQ(ddb.prompts.size(), 6979u);
  EXPECT_TRUE(ddb.skipped.empty());
}

TEST(Csv, MalformedQuotingIsAnError) {
  std::istringstream a("x,\"open\n");
  CsvReader r(a, "a.csv");
  std::vector<std::string> f;
  EXPECT_THROW(r.next(f), Error);
  std::istringstream b("x,\"q\"z\n");
  CsvReader r2(b, "b.csv");
  EXPECT_THROW(r2.next(f), Error);
}

TEST(Strings, Utf8Validation) {
  EXPECT_EQ(find_invalid_utf8("plain ascii"), std::string::npos);
  EXPECT_EQ(find_invalid_utf8("caf\xC3\xA9 \xE2\x80\x9C"
                              "q\xE2\x80\x9D \xF0\x9F\x90\xB1"),
            std::string::npos);
  EXPECT_EQ(find_invalid_utf8("\xC0\xAF"), 0u);        // overlong
  EXPECT_EQ(find_invalid_utf8("ab\xED\xA0\x80"), 2u);  // surrogate
  EXPECT_EQ(find_invalid_utf8("abc\xE2\x80"), 3u);     // truncated
}

// The one word count (split_table's --holdout-max-words, cv's --test-max-words, the predictors'
// length range and style features): runs of bytes that are not ASCII white space.
TEST(Strings, CountWordsSplitsOnAsciiWhiteSpaceOnly) {
  EXPECT_EQ(count_words(""), 0u);
  EXPECT_EQ(count_words(" \t\n\v\f\r "), 0u);
  EXPECT_EQ(count_words("cat"), 1u);
  EXPECT_EQ(count_words("  a cat,  on\ta\nmat\r\n"), 5u);
  EXPECT_EQ(count_words("a,b.c-d (e:1.2)"), 2u);  // punctuation does not split
  EXPECT_EQ(count_words("\v\fx\fy\v"), 2u);
  // UTF-8 is word bytes, its white space too (U+00A0 no-break space, U+3000 ideographic space).
  EXPECT_EQ(count_words("caf\xC3\xA9 au lait"), 3u);
  EXPECT_EQ(count_words(std::string("a\xC2\xA0") + "b"), 1u);
  EXPECT_EQ(count_words("\xE7\x8C\xAB\xE3\x80\x80\xE7\x8A\xAC"), 1u);
  EXPECT_EQ(count_words(std::string("a\0b c", 5)), 2u);  // NUL is not white space
}

TEST(Prompts, JsonNumbersTooLargeForADoubleAreBadRecordsNotCrashes) {
  // Found by tests/fuzz/fuzz_prompts: 1e400 made nlohmann throw out_of_range (not a parse
  // error), which escaped parse_json as a non-catimage exception and aborted the whole file.
  auto d = temp_dir();
  auto f = read_prompts(write(d / "p.jsonl", "{\"prompt\": \"a cat\"}\n{\"prompt\": \"a dog\", \"seed\": 1e400}\n"));
  ASSERT_EQ(f.prompts.size(), 1u);
  ASSERT_EQ(f.skipped.size(), 1u);
  EXPECT_EQ(f.skipped[0].line, 2);
  EXPECT_TRUE(contains(f.skipped[0].reason, "p.jsonl:2:29: invalid JSON: number overflow parsing '1e400'"))
      << f.skipped[0].reason;
  try {
    read_prompts(write(d / "p.json", "[\"a cat\",\n -1e999]"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "p.json:2:2: invalid JSON: number overflow")) << e.what();
  }
}
