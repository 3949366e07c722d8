#pragma once
// What a model family's pipeline is built with (diffusion/families builds it; a
// GenerationPlan resolves it for a candidate). Torch-free.
#include <string>

namespace catimage {

struct PipelineOptions {
  std::string folder;
  std::string vae;              // optional decoder override: folder or .safetensors (e.g. TAESD)
  std::string scheduler;        // optional: a sampler name (schedulers/sampler_names) replacing the folder's
  std::string device = "auto";  // auto | cpu | cuda | cuda:N
  std::string dtype = "auto";   // auto (fp16 on CUDA, fp32 on CPU) | fp32 | fp16 | bf16
  bool channels_last = false;
};

}  // namespace catimage
