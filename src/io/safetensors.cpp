#include "catimage/io/safetensors.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <set>

#include "catimage/io/atomic_file.hpp"
#include "catimage/io/json_file.hpp"
#include "catimage/util/error.hpp"

namespace catimage {

namespace {
const std::pair<DType, const char*> kNames[] = {{DType::F32, "F32"}, {DType::F16, "F16"}, {DType::BF16, "BF16"},
                                                {DType::I64, "I64"}, {DType::I32, "I32"}, {DType::U8, "U8"}};
}

std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32:
    case DType::I32: return 4;
    case DType::F16:
    case DType::BF16: return 2;
    case DType::I64: return 8;
    case DType::U8: return 1;
  }
  return 0;
}

const char* dtype_name(DType t) {
  for (auto& [d, n] : kNames)
    if (d == t) return n;
  return "?";
}

std::int64_t TensorInfo::numel() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;  // checked against overflow when the file was read
  return n;
}

SafeTensorsFile::Mapping::~Mapping() {
  if (addr) ::munmap(addr, size);
}

namespace {

// Top-level names that occur twice (nlohmann's parser keeps the last silently).
std::string duplicate_key(std::string_view header) {
  std::set<std::string> seen;
  std::string dup;
  json::parser_callback_t cb = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1 && dup.empty() &&
        !seen.insert(parsed.get<std::string>()).second)
      dup = parsed.get<std::string>();
    return true;
  };
  json::parse(header, cb, false);
  return dup;
}

}  // namespace

SafeTensorsFile::SafeTensorsFile(const std::string& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("{}: cannot open: {}", path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    fail("{}: cannot stat", path);
  }
  const std::size_t size = static_cast<std::size_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    fail("{}: not a safetensors file ({} bytes, too short for a header)", path, size);
  }
  void* addr = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int err = errno;
  ::close(fd);
  if (addr == MAP_FAILED) fail("{}: mmap failed: {}", path, std::strerror(err));
  map_.addr = addr;
  map_.size = size;
  const auto* bytes = static_cast<const std::uint8_t*>(addr);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];
  if (n > size - 8) fail("{}: header length {} exceeds the file ({} bytes): not a safetensors file", path, n, size);
  if (n > kMaxSafetensorsHeader)
    fail("{}: header length {} is over the limit of {} bytes", path, n, kMaxSafetensorsHeader);
  const std::string_view header(reinterpret_cast<const char*>(bytes + 8), n);
  json h = parse_json(header, path + " (header)");
  if (!h.is_object()) fail("{}: header is not a JSON object", path);
  if (auto dup = duplicate_key(header); !dup.empty()) fail("{}: tensor \"{}\" appears twice in the header", path, dup);
  data_ = bytes + 8 + n;
  const std::size_t data_size = size - 8 - n;
  for (auto it = h.begin(); it != h.end(); ++it) {
    const auto& key = it.key();
    const auto& v = it.value();
    if (key == "__metadata__") {
      if (!v.is_object()) fail("{}: __metadata__ must be an object of strings", path);
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) fail("{}: __metadata__.{} is not a string", path, m.key());
        metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    auto bad = [&](const std::string& msg) { fail("{}: tensor \"{}\": {}", path, key, msg); };
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
      bad("needs dtype, shape and data_offsets");
    TensorInfo t;
    t.name = key;
    if (!v["dtype"].is_string()) bad("dtype is not a string");
    auto dn = v["dtype"].get<std::string>();
    bool found = false;
    for (auto& [d, nm] : kNames)
      if (dn == nm) {
        t.dtype = d;
        found = true;
      }
    if (!found) bad("unsupported dtype " + dn + " (supported: F32, F16, BF16, I64, I32, U8)");
    if (!v["shape"].is_array()) bad("shape is not an array");
    std::uint64_t bytes_needed = dtype_size(t.dtype);
    bool overflow = false;
    for (const auto& d : v["shape"]) {
      if (!d.is_number_unsigned()) bad("shape has a non-integer or negative dimension");
      const auto dim = d.get<std::uint64_t>();
      if (dim > static_cast<std::uint64_t>(INT64_MAX)) bad(fmt::format("dimension {} is too large", dim));
      overflow |= __builtin_mul_overflow(bytes_needed, dim, &bytes_needed);
      t.shape.push_back(static_cast<std::int64_t>(dim));
    }
    if (overflow) bad(fmt::format("shape {} has more bytes than fit in 64 bits", v["shape"].dump()));
    const auto& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      bad("data_offsets must be [begin, end]");
    t.begin = off[0].get<std::size_t>();
    t.end = off[1].get<std::size_t>();
    if (t.end < t.begin || t.end > data_size)
      bad(fmt::format("data_offsets [{}, {}] fall outside the data section ({} bytes)", t.begin, t.end, data_size));
    if (bytes_needed != t.end - t.begin)
      bad(fmt::format("shape needs {} bytes but data_offsets span {}", bytes_needed, t.end - t.begin));
    tensors_.emplace(key, std::move(t));
  }
  std::vector<const TensorInfo*> order;
  for (const auto& [k, t] : tensors_) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->begin < b->begin; });
  std::size_t at = 0;
  for (const auto* t : order) {
    if (t->begin < at) fail("{}: tensor \"{}\" overlaps another tensor's bytes", path, t->name);
    if (t->begin > at) fail("{}: {} unused bytes before tensor \"{}\"", path, t->begin - at, t->name);
    at = t->end;
  }
  if (at != data_size) fail("{}: {} trailing bytes after the last tensor", path, data_size - at);
}

const TensorInfo& SafeTensorsFile::info(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) fail("{}: no tensor \"{}\"", path_, name);
  return it->second;
}

const void* SafeTensorsFile::data(const std::string& name) const { return data_ + info(name).begin; }

void write_safetensors(const std::string& path, std::vector<TensorBlob> tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::sort(tensors.begin(), tensors.end(), [](auto& a, auto& b) { return a.name < b.name; });
  json h = json::object();
  if (!metadata.empty()) h["__metadata__"] = metadata;
  std::size_t at = 0;
  for (const auto& t : tensors) {
    std::int64_t n = 1;
    for (auto d : t.shape) n *= d;
    if (static_cast<std::size_t>(n) * dtype_size(t.dtype) != t.bytes.size())
      fail("write_safetensors: tensor \"{}\" has {} bytes for its shape's {}", t.name, t.bytes.size(),
           n * dtype_size(t.dtype));
    h[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {at, at + t.bytes.size()}}};
    at += t.bytes.size();
  }
  std::string hs = h.dump();
  while ((hs.size() + 8) % 8) hs += ' ';  // align the data section
  AtomicFile f(path);
  std::uint64_t n = hs.size();
  char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  f.stream().write(len, 8);
  f.stream() << hs;
  for (const auto& t : tensors) f.stream().write(reinterpret_cast<const char*>(t.bytes.data()), t.bytes.size());
  f.commit();
}

}  // namespace catimage
