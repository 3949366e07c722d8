// libFuzzer harness: the PNG writer/reader (src/io/png_writer.cpp).
// Byte 0 even: inspect_png on the remaining raw bytes (must not crash; complete <=> no problem).
// Byte 0 odd: encode_png of a small image with fuzzed text chunks; the encoded PNG must be
// complete and give back exactly the text it was written with (or encode_png fails with
// catimage::Error); a truncated copy must be reported incomplete, and a copy with one byte
// corrupted must not crash the reader.
#include <fuzzer/FuzzedDataProvider.h>

#include "catimage/io/png_writer.hpp"
#include "catimage/util/error.hpp"
#include "fuzz_common.hpp"

using namespace catimage;

namespace {
void check_info(const PngInfo& info) { FUZZ_CHECK(info.complete == info.problem.empty()); }
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  if ((data[0] & 1) == 0) {
    check_info(inspect_png(std::string(reinterpret_cast<const char*>(data + 1), size - 1)));
    return 0;
  }
  FuzzedDataProvider p(data + 1, size - 1);
  const int w = p.ConsumeIntegralInRange<int>(1, 8), h = p.ConsumeIntegralInRange<int>(1, 8);
  std::vector<std::pair<std::string, std::string>> text;
  const int n = p.ConsumeIntegralInRange<int>(0, 4);
  for (int i = 0; i < n; ++i) {
    std::string k = p.ConsumeRandomLengthString(100);
    std::string v = p.ConsumeRandomLengthString(400);
    text.emplace_back(std::move(k), std::move(v));
  }
  const std::size_t cut = p.ConsumeIntegral<std::uint16_t>();
  const std::uint8_t flip = p.ConsumeIntegral<std::uint8_t>();
  std::vector<std::uint8_t> rgb(static_cast<std::size_t>(w) * h * 3);
  for (auto& b : rgb) b = p.ConsumeIntegral<std::uint8_t>();
  std::string png;
  try {
    png = encode_png(rgb.data(), w, h, text);
  } catch (const Error&) {
    return 0;
  }
  PngInfo info = inspect_png(png);
  check_info(info);
  if (!info.complete) {
    std::fprintf(stderr, "encode_png output not complete: %s\n", info.problem.c_str());
    std::abort();
  }
  FUZZ_CHECK(info.text == text);
  // A truncated copy is never complete; a corrupted one must not crash.
  const std::size_t at = cut % png.size();
  check_info(inspect_png(png.substr(0, at)));
  FUZZ_CHECK(!inspect_png(png.substr(0, at)).complete);
  std::string bad = png;
  bad[at] = static_cast<char>(bad[at] ^ (flip | 1));
  check_info(inspect_png(bad));
  // And through a file (write_png fsyncs: only for some inputs, to keep the harness fast).
  if (flip & 0x70) return 0;
  const std::string path = fuzz::scratch_dir() + "/out.png";
  write_png(path, rgb.data(), w, h, text);
  FUZZ_CHECK(read_png_text(path) == text);
  return 0;
}
