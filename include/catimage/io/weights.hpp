#pragma once
// Model weights from safetensors (a single file, or a sharded set: <stem>.safetensors.index.json
// with a "weight_map"), and loading them into a libtorch module by name. Module parameter
// names are the checkpoint keys (diffusers/transformers naming for the diffusion models,
// "bag."/"transformer." for the predictors), so loading is a lookup; missing, unexpected
// and mis-shaped keys are all reported. A module loads from a WeightSource: a folder's files
// (WeightFiles), or a view of other tensors under the module's names (diffusion/loaders: one
// component of a single-file checkpoint, renamed).
#include <torch/torch.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "catimage/io/safetensors.hpp"

namespace catimage {

// Named tensors a module loads from.
class WeightSource {
 public:
  virtual ~WeightSource() = default;
  virtual std::string describe() const = 0;  // for messages: the file, the index file, the view
  virtual bool has(const std::string& name) const = 0;
  virtual std::vector<std::string> names() const = 0;
  virtual std::vector<std::int64_t> shape(const std::string& name) const = 0;
  // The tensor as `dtype` on the CPU (a copy); a floating `dtype` needs a floating tensor.
  virtual torch::Tensor get(const std::string& name, torch::Dtype dtype = torch::kFloat32) const = 0;
  // Where `name` is stored, for messages (a renamed view names the file's key).
  virtual std::string stored_name(const std::string& name) const { return name; }
};

class WeightFiles : public WeightSource {
 public:
  // The file(s) for `stem` in `dir`: <stem>.safetensors, <stem>.safetensors.index.json, or the
  // fp16 variants (<stem>.fp16.safetensors ...). Fails naming the expected paths.
  static WeightFiles in_folder(const std::string& dir, const std::string& stem);
  static WeightFiles file(const std::string& path);
  // Candidate paths in_folder() looks for, for messages.
  static std::vector<std::string> expected_paths(const std::string& dir, const std::string& stem);
  // True if in_folder() would find something.
  static bool exists(const std::string& dir, const std::string& stem);
  // The pickled file in `dir` where STEM's safetensors should be (STEM.bin, .ckpt, .pt, .pth or
  // .bin.index.json; never opened), "" when there is none.
  static std::string pickled_only(const std::string& dir, const std::string& stem);

  std::string describe() const override;  // the file, or the index file
  bool has(const std::string& name) const override;
  std::vector<std::string> names() const override;
  std::vector<std::int64_t> shape(const std::string& name) const override;
  // The tensor as `dtype` on the CPU (copied out of the mapping); a floating `dtype` needs a
  // floating tensor in the file.
  torch::Tensor get(const std::string& name, torch::Dtype dtype = torch::kFloat32) const override;

 private:
  std::string origin_;
  std::vector<std::shared_ptr<SafeTensorsFile>> files_;
  std::map<std::string, const SafeTensorsFile*> where_;
};

struct LoadOptions {
  std::string prefix;                          // only keys under this prefix belong to the module
  std::set<std::string> ignored_prefixes;      // known keys the runtime does not use (e.g. "encoder.")
  std::map<std::string, std::string> renames;  // deprecated checkpoint suffix -> module suffix
  bool conv1x1_as_linear = false;              // accept [out, in, 1, 1] for a linear weight (old VAE attention)
};

// Copies every parameter and buffer of `module` (under opt.prefix) from `w`, converting dtype.
// Fails with the lists of missing, mis-shaped and unexpected keys (as `w` stores them).
void load_weights(torch::nn::Module& module, const WeightSource& w, const LoadOptions& opt = {});

// A tensor as a safetensors record, copied to the CPU: fp16 and bf16 as they are, every other
// type as F32.
TensorBlob tensor_blob(const std::string& name, const torch::Tensor& tensor);

// Seeded random weights for `module` written as safetensors under the module's names (used
// to make tiny test models and architecture-only benchmark models), each tensor as tensor_blob
// stores it.
void save_weights(const torch::nn::Module& module, const std::string& path, const std::string& prefix = "");

}  // namespace catimage
