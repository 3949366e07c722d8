#pragma once
// safetensors files: an 8-byte little-endian header length, a JSON header
// {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}},
// then the tensor bytes. The reader memory-maps the file and validates everything before
// any tensor is used: header size (at most 100 MiB) and JSON, no duplicate names, dtypes
// (F32/F16/BF16, plus I64/I32/U8 for integer buffers), dimensions within int64, element
// counts without overflow, shapes against byte sizes, offsets within the file, no overlaps
// and no gaps. A file that fails any check is unmapped and closed before the error.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace catimage {

enum class DType { F32, F16, BF16, I64, I32, U8 };
std::size_t dtype_size(DType t);
const char* dtype_name(DType t);

// Largest header this reader accepts.
inline constexpr std::uint64_t kMaxSafetensorsHeader = 100u << 20;

struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<std::int64_t> shape;
  std::size_t begin = 0, end = 0;  // byte offsets into the data section
  std::int64_t numel() const;
};

class SafeTensorsFile {
 public:
  explicit SafeTensorsFile(const std::string& path);  // throws Error naming the file/tensor
  SafeTensorsFile(const SafeTensorsFile&) = delete;
  SafeTensorsFile& operator=(const SafeTensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const std::map<std::string, TensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool has(const std::string& name) const { return tensors_.count(name) > 0; }
  const TensorInfo& info(const std::string& name) const;  // throws naming the tensor
  const void* data(const std::string& name) const;

 private:
  // A read-only mapping of the whole file, unmapped when destroyed (also when the
  // constructor throws after mapping).
  struct Mapping {
    void* addr = nullptr;
    std::size_t size = 0;
    Mapping() = default;
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;
    ~Mapping();
  };
  std::string path_;
  Mapping map_;
  const std::uint8_t* data_ = nullptr;
  std::map<std::string, TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

struct TensorBlob {
  std::string name;
  DType dtype;
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> bytes;
};

// Writes tensors (in name order) atomically.
void write_safetensors(const std::string& path, std::vector<TensorBlob> tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace catimage
