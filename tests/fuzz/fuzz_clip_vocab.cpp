// libFuzzer harness: loading a malformed CLIP tokenizer folder (src/text/clip_tokenizer.cpp).
// The input is vocab.json, a NUL byte, then merges.txt (no NUL: merges.txt is empty). Loading
// either fails with catimage::Error or gives a tokenizer that encodes a fixed text with ids
// from its vocabulary.
#include <cstring>
#include <set>

#include "catimage/io/json_file.hpp"
#include "catimage/text/clip_tokenizer.hpp"
#include "catimage/util/error.hpp"
#include "fuzz_common.hpp"

using namespace catimage;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto* nul = static_cast<const std::uint8_t*>(std::memchr(data, 0, size));
  const std::size_t vsize = nul ? static_cast<std::size_t>(nul - data) : size;
  const std::string dir = fuzz::scratch_dir() + "/tokenizer";
  static bool made = (std::filesystem::create_directories(dir), true);
  (void)made;
  fuzz::write_input("tokenizer/vocab.json", data, vsize);
  fuzz::write_input("tokenizer/merges.txt", nul ? nul + 1 : data + size, nul ? size - vsize - 1 : 0);
  try {
    ClipTokenizer tok = ClipTokenizer::from_folder(dir);
    std::set<int> ids;
    const json vocab = read_json_file(dir + "/vocab.json");
    for (const auto& [k, v] : vocab.items()) ids.insert(v.get<int>());
    for (int id : tok.encode_padded("a photo of a cat, <|endoftext|> 'll 123 naïve 猫!! <|startoftext|>"))
      FUZZ_CHECK(ids.count(id));
  } catch (const Error&) {
  }
  return 0;
}
