#pragma once
// A WeightSource that shows another source's tensors under a module's names: each name maps to
// a stored tensor and the TensorOp that turns it into the module's tensor (a 1x1 conv weight
// squeezed to a linear one, a transposed projection, a third of a fused q/k/v). How one
// component of a single-file checkpoint reaches a module that knows only its diffusers names
// (diffusion/loaders/single_file); a LoRA merge can wrap such a view again.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "catimage/diffusion/loaders/ldm_names.hpp"
#include "catimage/io/weights.hpp"

namespace catimage {

class RenamedWeights : public WeightSource {
 public:
  // `what` names the view in messages, e.g. "sd.safetensors: unet (ldm names, renamed)".
  RenamedWeights(std::shared_ptr<const WeightSource> stored, std::string what);

  // `name` is stored as `stored` (after `op`). Fails naming both stored keys when two of them
  // claim one name.
  void add(const std::string& name, const std::string& stored, TensorOp op = TensorOp::none, int part = 0);

  std::string describe() const override { return what_; }
  bool has(const std::string& name) const override { return map_.count(name) > 0; }
  std::vector<std::string> names() const override;
  std::vector<std::int64_t> shape(const std::string& name) const override;
  torch::Tensor get(const std::string& name, torch::Dtype dtype = torch::kFloat32) const override;
  std::string stored_name(const std::string& name) const override;

 private:
  struct Entry {
    std::string stored;
    TensorOp op;
    int part;
  };
  const Entry& entry(const std::string& name) const;
  std::shared_ptr<const WeightSource> stored_;
  std::string what_;
  std::map<std::string, Entry> map_;
};

}  // namespace catimage
