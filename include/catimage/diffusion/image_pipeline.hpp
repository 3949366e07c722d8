#pragma once
// What every model family's text-to-image pipeline offers the batch jobs (generate, route
// --generate, sweep, cascade): a batch of (prompt, negative prompt, seed) requests in, uint8
// images out. Each request's randomness comes from its own seed, so the same seed gives the
// same image whatever the batch it is in. A family's factory (diffusion/families) builds one
// from a model folder; options a family does not implement are refused there, naming them.
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "catimage/diffusion/pipeline_options.hpp"

namespace catimage {

struct ImageRequest {
  std::string prompt, negative_prompt;
  std::uint64_t seed = 0;
};

// The settings of one batch, resolved by the caller (a candidate's GenerationPlan takes the
// family's defaults from its registry entry): a pipeline states no defaults of its own but
// its model's image size.
struct GenerationSettings {
  int steps = 0;              // at least 1 (0 is refused, naming "steps")
  int width = 0, height = 0;  // 0: the model's default size (ImagePipeline::default_size)
  double guidance = 1.0;      // <= 1: no classifier-free guidance
};

class ImagePipeline {
 public:
  virtual ~ImagePipeline() = default;
  // Images (B, H, W, 3) uint8 on the CPU, one per request, in order.
  virtual torch::Tensor generate(const std::vector<ImageRequest>& batch, const GenerationSettings& s) = 0;
  virtual int default_size() const = 0;                      // pixels (square) when the settings say 0
  virtual std::string sampler_label() const = 0;             // PNG "Sampler:" text, e.g. "Euler a"
  virtual std::string schedule_label() const { return ""; }  // PNG "Schedule type:" text, e.g. "Karras"; "" none
  virtual std::string scheduler_class() const = 0;           // the diffusers scheduler class, for manifests
  virtual std::string describe() const = 0;                  // one line for logs: folder, device, dtype
  virtual torch::Device device() const = 0;
  virtual torch::Dtype dtype() const = 0;
};

}  // namespace catimage
