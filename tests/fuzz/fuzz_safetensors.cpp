// libFuzzer harness: SafeTensorsFile (src/io/safetensors.cpp) on arbitrary file contents.
// A file either fails with catimage::Error or yields tensors whose byte ranges lie inside the
// file, match their shapes and tile the data section; an accepted file written back with
// write_safetensors reads back the same. Any other exception, crash or sanitizer report is a bug.
#include <cstring>

#include "catimage/io/safetensors.hpp"
#include "catimage/util/error.hpp"
#include "fuzz_common.hpp"

using namespace catimage;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = fuzz::write_input("in.safetensors", data, size);
  std::vector<TensorBlob> blobs;
  std::map<std::string, std::string> meta;
  try {
    SafeTensorsFile f(path);
    FUZZ_CHECK(size >= 8);
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | data[i];
    const std::size_t data_size = size - 8 - n;
    const auto* base = data + 8 + n;
    std::size_t total = 0;
    for (const auto& [name, t] : f.tensors()) {
      FUZZ_CHECK(name == t.name);
      FUZZ_CHECK(t.begin <= t.end && t.end <= data_size);
      FUZZ_CHECK(static_cast<std::uint64_t>(t.numel()) * dtype_size(t.dtype) == t.end - t.begin);
      total += t.end - t.begin;
      FUZZ_CHECK(&f.info(name) == &t);
      // f.data() points into the mapping; compare its bytes with the input's.
      FUZZ_CHECK(std::memcmp(f.data(name), base + t.begin, t.end - t.begin) == 0);
      TensorBlob b{name, t.dtype, t.shape, std::vector<std::uint8_t>(base + t.begin, base + t.end)};
      blobs.push_back(std::move(b));
    }
    FUZZ_CHECK(total == data_size);
    meta = f.metadata();
    try {
      (void)f.info("\x01no such tensor");
      FUZZ_CHECK(f.has("\x01no such tensor"));
    } catch (const Error&) {
    }
  } catch (const Error&) {
    return 0;
  }
  // Round trip through the writer.
  const std::string out = fuzz::scratch_dir() + "/out.safetensors";
  write_safetensors(out, blobs, meta);
  SafeTensorsFile g(out);
  FUZZ_CHECK(g.tensors().size() == blobs.size());
  FUZZ_CHECK(g.metadata() == meta);
  for (const auto& b : blobs) {
    const auto& t = g.info(b.name);
    FUZZ_CHECK(t.dtype == b.dtype && t.shape == b.shape && t.end - t.begin == b.bytes.size());
    FUZZ_CHECK(b.bytes.empty() || std::memcmp(g.data(b.name), b.bytes.data(), b.bytes.size()) == 0);
  }
  return 0;
}
