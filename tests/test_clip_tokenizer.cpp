#include <gtest/gtest.h>

#include "catimage/io/json_file.hpp"
#include "catimage/text/clip_tokenizer.hpp"
#include "catimage/util/error.hpp"
#include "tiny_models.hpp"

using namespace catimage;
using namespace catimage::test;

namespace {
ClipTokenizer tiny(const std::string& pad = "<|endoftext|>", int max_length = 77) {
  return ClipTokenizer(fixture("clip-tiny-vocab/vocab.json"), fixture("clip-tiny-vocab/merges.txt"), pad, max_length);
}
}  // namespace

// Ids agree with OpenAI's reference implementation (simple_tokenizer.py) on the same merges.
TEST(ClipTokenizer, MatchesOpenAIReference) {
  auto tok = tiny();
  json ref = read_json_file(fixture("clip-tiny-vocab/reference_tokens.json"));
  ASSERT_GE(ref["cases"].size(), 8u);
  for (const auto& c : ref["cases"]) {
    auto want = c["ids"].get<std::vector<int>>();
    EXPECT_EQ(tok.encode(c["text"].get<std::string>()), want) << c["text"];
  }
}

TEST(ClipTokenizer, PadsAndTruncatesLikeCLIPTokenizer) {
  auto tok = tiny();
  auto ids = tok.encode_padded("a red cube");
  ASSERT_EQ(ids.size(), 77u);
  EXPECT_EQ(ids[0], tok.bos_id());
  auto body = tok.encode("a red cube");
  EXPECT_EQ(std::vector<int>(ids.begin() + 1, ids.begin() + 1 + body.size()), body);
  EXPECT_EQ(ids[1 + body.size()], tok.eos_id());
  for (std::size_t i = 2 + body.size(); i < 77; ++i) EXPECT_EQ(ids[i], tok.eos_id());  // SD1 pads with <|endoftext|>
  auto sd2 = tiny("!");
  auto ids2 = sd2.encode_padded("a red cube");
  EXPECT_EQ(ids2.back(), sd2.pad_id());
  EXPECT_NE(sd2.pad_id(), sd2.eos_id());
  EXPECT_EQ(ids2[1 + body.size()], sd2.eos_id());

  std::string long_prompt;
  for (int i = 0; i < 100; ++i) long_prompt += "word ";
  EXPECT_TRUE(tok.truncates(long_prompt));
  auto cut = tok.encode_padded(long_prompt);
  ASSERT_EQ(cut.size(), 77u);
  EXPECT_EQ(cut.back(), tok.eos_id());
  EXPECT_EQ(cut[75], tok.encode(long_prompt)[74]);
  EXPECT_FALSE(tok.truncates("short"));
}

TEST(ClipTokenizer, CleansTextAndKeepsSpecialTokens) {
  auto tok = tiny();
  EXPECT_EQ(tok.encode("A  Red\tCUBE\n"), tok.encode("a red cube"));
  EXPECT_EQ(tok.encode("a\x01 red\xe2\x80\x8b cube"), tok.encode("a red cube"));  // control and zero-width dropped
  auto ids = tok.encode("hi<|endoftext|>there");
  auto hi = tok.encode("hi"), there = tok.encode("there");
  std::vector<int> want = hi;
  want.push_back(tok.eos_id());
  want.insert(want.end(), there.begin(), there.end());
  EXPECT_EQ(ids, want);
  // CJK ideographs are split into single characters (transformers' BasicTokenizer)
  EXPECT_EQ(tok.encode("\xe6\x9d\xb1\xe4\xba\xac"), [&] {
    auto a = tok.encode("\xe6\x9d\xb1");
    auto b = tok.encode("\xe4\xba\xac");
    a.insert(a.end(), b.begin(), b.end());
    return a;
  }());
  // invalid UTF-8 does not crash and is dropped
  EXPECT_EQ(tok.encode("a \xff\xfe red"), tok.encode("a red"));
}

TEST(ClipTokenizer, ReadsAFolderAndRejectsBadFiles) {
  auto tok = ClipTokenizer::from_folder(fixture("tiny-sd2/tokenizer"));
  EXPECT_EQ(tok.pad_id(), 0);  // "!" (SD2.x pads with it), not "!</w>"
  EXPECT_EQ(tok.max_length(), 77);
  auto d = temp_dir();
  write(d / "merges.txt", "#version: 0.2\na b c\n");
  try {
    ClipTokenizer(fixture("clip-tiny-vocab/vocab.json"), (d / "merges.txt").string(), "!", 77);
    FAIL() << "accepted a bad merge";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "merges.txt:2")) << e.what();
  }
  write(d / "vocab.json", "{\"a\": 0}");
  EXPECT_THROW(ClipTokenizer((d / "vocab.json").string(), fixture("clip-tiny-vocab/merges.txt"), "!", 77), Error);
  EXPECT_THROW(tiny("<not-a-token>"), Error);
}
