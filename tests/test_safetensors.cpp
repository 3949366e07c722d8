#include <gtest/gtest.h>

#include <cstring>

#include "catimage/io/safetensors.hpp"
#include "catimage/util/error.hpp"
#include "test_util.hpp"

using namespace catimage;
using namespace catimage::test;

namespace {

TensorBlob f32(const std::string& name, std::vector<std::int64_t> shape, std::vector<float> v) {
  TensorBlob b{name, DType::F32, shape, std::vector<std::uint8_t>(v.size() * 4)};
  std::memcpy(b.bytes.data(), v.data(), b.bytes.size());
  return b;
}

// A file with a hand-written header and `data_bytes` zero bytes of data.
std::string raw_file(const std::filesystem::path& p, const std::string& header, std::size_t data_bytes) {
  std::string s(8, '\0');
  std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return write(p, s + header + std::string(data_bytes, '\0'));
}

std::string error_of(const std::string& path) {
  try {
    SafeTensorsFile f(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(SafeTensors, RoundTrip) {
  auto d = temp_dir();
  auto p = (d / "w.safetensors").string();
  write_safetensors(p, {f32("b", {2}, {1, 2}), f32("a.weight", {2, 3}, {1, 2, 3, 4, 5, 6})}, {{"kind", "test"}});
  SafeTensorsFile f(p);
  EXPECT_EQ(f.tensors().size(), 2u);
  EXPECT_EQ(f.metadata().at("kind"), "test");
  const auto& i = f.info("a.weight");
  EXPECT_EQ(i.shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(i.dtype, DType::F32);
  EXPECT_FLOAT_EQ(static_cast<const float*>(f.data("a.weight"))[5], 6.0f);
  EXPECT_FLOAT_EQ(static_cast<const float*>(f.data("b"))[1], 2.0f);
  EXPECT_THROW(f.info("nope"), Error);
}

TEST(SafeTensors, RejectsMalformedFilesNamingTheTensor) {
  auto d = temp_dir();
  struct Case {
    std::string header;
    std::size_t data;
    std::string expect;
  };
  std::vector<Case> cases = {
      {R"({"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})", 4, "outside the data section"},
      {R"({"t": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", 8, "tensor \"t\": shape needs 12 bytes"},
      {R"({"t": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}})", 8, "tensor \"t\": unsupported dtype F64"},
      {R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
       8, "overlaps"},
      {R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})", 8, "unused bytes before tensor \"a\""},
      {R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", 8, "trailing bytes"},
      {R"({"a": {"dtype": "F32", "shape": [1]}})", 4, "tensor \"a\": needs dtype, shape and data_offsets"},
      {R"({"a": )", 4, "invalid JSON"},
      // hostile shapes: an element count that wraps around, a dimension read as negative
      {R"({"t": {"dtype": "F32", "shape": [4611686018427387905], "data_offsets": [0, 4]}})", 4,
       "tensor \"t\": shape [4611686018427387905] has more bytes than fit in 64 bits"},
      {R"({"t": {"dtype": "U8", "shape": [9223372036854775808], "data_offsets": [0, 4]}})", 4,
       "tensor \"t\": dimension 9223372036854775808 is too large"},
      {R"({"t": {"dtype": "F32", "shape": [65536, 65536, 65536, 65536, 16], "data_offsets": [0, 4]}})", 4,
       "more bytes than fit in 64 bits"},
      {R"({"t": {"dtype": "F32", "shape": [1073741824, 4], "data_offsets": [0, 4]}})", 4,
       "shape needs 17179869184 bytes but data_offsets span 4"},
      {R"({"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "t": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
       8, "tensor \"t\" appears twice in the header"},
  };
  for (std::size_t k = 0; k < cases.size(); ++k) {
    auto p = raw_file(d / ("f" + std::to_string(k)), cases[k].header, cases[k].data);
    auto e = error_of(p);
    EXPECT_TRUE(contains(e, cases[k].expect)) << "expected «" << cases[k].expect << "» in «" << e << "»";
  }
  // header length larger than the file
  std::string bad(8, '\xff');
  EXPECT_TRUE(contains(error_of(write(d / "big", bad + "{}")), "exceeds the file"));
  EXPECT_TRUE(contains(error_of(write(d / "tiny", "abc")), "too short"));
  // a header over the size limit is refused before it is parsed
  std::string huge(8, '\0');
  const std::uint64_t n = kMaxSafetensorsHeader + 8;
  for (int i = 0; i < 8; ++i) huge[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  std::string file = huge + std::string(n, ' ');
  EXPECT_TRUE(contains(error_of(write(d / "huge", file)), "over the limit")) << error_of((d / "huge").string());
}

TEST(SafeTensors, ZeroSizedTensorsAreFine) {
  auto d = temp_dir();
  auto p =
      raw_file(d / "z", R"({"e": {"dtype": "F32", "shape": [0, 9223372036854775807], "data_offsets": [0, 0]}})", 0);
  SafeTensorsFile f(p);
  EXPECT_EQ(f.info("e").numel(), 0);
}

TEST(SafeTensors, HeaderNumbersTooLargeForADoubleAreClearErrors) {
  // Found by tests/fuzz/fuzz_safetensors: 1e400 in the header escaped as nlohmann's out_of_range.
  auto d = temp_dir();
  auto p = raw_file(d / "n", R"({"t": {"dtype": "F32", "shape": [1e400], "data_offsets": [0, 4]}})", 4);
  EXPECT_TRUE(contains(error_of(p), "(header):1:34: invalid JSON: number overflow parsing '1e400'")) << error_of(p);
}
