#include <gtest/gtest.h>
#include <torch/torch.h>

#include "catimage/text/sentencepiece_tokenizer.hpp"
#include "catimage/util/error.hpp"
#include "test_util.hpp"

using namespace catimage;

// This test binary links libtorch (and its protobuf); sentencepiece must load beside it
// through the shim without crashing, and tokenize.
TEST(SentencePiece, TokenizesBesideLibtorch) {
  auto t = torch::ones({2, 2}).matmul(torch::ones({2, 2}));
  EXPECT_EQ(t.sum().item<float>(), 8.0f);
  SentencePieceTokenizer tok(SentencePieceTokenizer::default_model());
  EXPECT_EQ(tok.vocab_size(), 8000);
  auto ids = tok.encode("A red book and a yellow vase, highly detailed, artstation");
  ASSERT_GT(ids.size(), 5u);
  for (int id : ids) {
    EXPECT_GE(id, 0);
    EXPECT_LT(id, tok.vocab_size());
  }
  std::string joined;
  for (int id : ids) joined += tok.piece(id);
  EXPECT_NE(joined.find("book"), std::string::npos) << joined;
  EXPECT_EQ(tok.encode("a red book"), tok.encode("a red book"));
  EXPECT_TRUE(tok.encode("").empty());
  EXPECT_EQ(tok.checksum().size(), 16u);
}

TEST(SentencePiece, BadModelIsAClearError) {
  auto d = catimage::test::temp_dir();
  auto p = catimage::test::write(d / "bad.model", "not a model");
  try {
    SentencePieceTokenizer tok(p);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.model"), std::string::npos) << e.what();
  }
}
