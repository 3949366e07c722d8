// libFuzzer harness: ClipTokenizer::encode / encode_padded (src/text/clip_tokenizer.cpp) on
// arbitrary bytes as text, with the fixture vocabulary tests/fixtures/clip-tiny-vocab.
// Every id must be in the vocabulary's id range, encode_padded must return exactly
// model_max_length ids framed by <bos> ... <eos>, and truncates() must agree with encode().
#include <set>

#include "catimage/text/clip_tokenizer.hpp"
#include "catimage/util/error.hpp"
#include "fuzz_common.hpp"

#ifndef CATIMAGE_SOURCE_DIR
#error "build with -DCATIMAGE_SOURCE_DIR=\"...\" (scripts/fuzz.sh does)"
#endif

using namespace catimage;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const ClipTokenizer tok = ClipTokenizer::from_folder(CATIMAGE_SOURCE_DIR "/tests/fixtures/clip-tiny-vocab");
  static const std::set<int> ids = [] {
    std::set<int> s;
    s.insert(tok.bos_id());
    s.insert(tok.eos_id());
    return s;
  }();
  (void)ids;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto body = tok.encode(text);
  for (int id : body) FUZZ_CHECK(id >= 0 && static_cast<std::size_t>(id) < tok.vocab_size());
  const auto padded = tok.encode_padded(text);
  FUZZ_CHECK(padded.size() == static_cast<std::size_t>(tok.max_length()));
  FUZZ_CHECK(padded.front() == tok.bos_id());
  const std::size_t kept = std::min(body.size(), static_cast<std::size_t>(tok.max_length() - 2));
  for (std::size_t i = 0; i < kept; ++i) FUZZ_CHECK(padded[1 + i] == body[i]);
  FUZZ_CHECK(padded[1 + kept] == tok.eos_id());
  for (std::size_t i = kept + 2; i < padded.size(); ++i) FUZZ_CHECK(padded[i] == tok.pad_id());
  FUZZ_CHECK(tok.truncates(text) == (body.size() > static_cast<std::size_t>(tok.max_length() - 2)));
  return 0;
}
