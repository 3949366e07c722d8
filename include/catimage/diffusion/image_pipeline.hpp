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

namespace catimage {

struct PipelineOptions {
  std::string folder;
  std::string vae;              // optional decoder override: folder or .safetensors (e.g. TAESD)
  std::string scheduler;        // optional: a scheduler_registry() name (or diffusers class) replacing the folder's
  std::string device = "auto";  // auto | cpu | cuda | cuda:N
  std::string dtype = "auto";   // auto (fp16 on CUDA, fp32 on CPU) | fp32 | fp16 | bf16
  bool channels_last = false;
};

struct ImageRequest {
  std::string prompt, negative_prompt;
  std::uint64_t seed = 0;
};

struct GenerationSettings {
  int steps = 0, width = 0, height = 0;  // 0: the model's defaults (ImagePipeline::default_steps/size)
  double guidance = 7.5;                 // <= 1: no classifier-free guidance
};

class ImagePipeline {
 public:
  virtual ~ImagePipeline() = default;
  // Images (B, H, W, 3) uint8 on the CPU, one per request, in order.
  virtual torch::Tensor generate(const std::vector<ImageRequest>& batch, const GenerationSettings& s) = 0;
  virtual int default_size() const = 0;             // pixels (square) when the settings say 0
  virtual int default_steps() const = 0;            // when the settings say 0
  virtual std::string sampler_label() const = 0;    // PNG "Sampler:" text, e.g. "Euler a"
  virtual std::string scheduler_class() const = 0;  // the diffusers scheduler class, for manifests
  virtual std::string describe() const = 0;         // one line for logs: folder, device, dtype
  virtual torch::Device device() const = 0;
  virtual torch::Dtype dtype() const = 0;
};

}  // namespace catimage
