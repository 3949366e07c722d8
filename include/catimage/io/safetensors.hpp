#pragma once
// safetensors files: an 8-byte little-endian header length, a JSON header
// {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}},
// then the tensor bytes. The reader memory-maps the file and validates everything before
// any tensor is used: header JSON, dtypes (F32/F16/BF16, plus I64/I32/U8 for integer
// buffers), shapes against byte sizes, offsets within the file, no overlaps and no gaps.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace catimage {

enum class DType { F32, F16, BF16, I64, I32, U8 };
std::size_t dtype_size(DType t);
const char* dtype_name(DType t);

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
  ~SafeTensorsFile();
  SafeTensorsFile(const SafeTensorsFile&) = delete;
  SafeTensorsFile& operator=(const SafeTensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const std::map<std::string, TensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool has(const std::string& name) const { return tensors_.count(name) > 0; }
  const TensorInfo& info(const std::string& name) const;  // throws naming the tensor
  const void* data(const std::string& name) const;

 private:
  std::string path_;
  void* map_ = nullptr;
  std::size_t size_ = 0;
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
