#pragma once
// What a model family's pipeline is built with (diffusion/families builds it; a
// GenerationPlan resolves it for a candidate). Torch-free.
#include <string>
#include <vector>

namespace catimage {

// A LoRA file to merge into the pipeline's weights at load (diffusion/loaders/lora).
struct LoraFileOption {
  std::string file;  // a resolved .safetensors path
  double scale = 1.0;
};

struct PipelineOptions {
  std::string folder;           // a diffusers pipeline folder or a single-file .safetensors checkpoint
  std::string config;           // a single file's configs: a shipped config's name or repo id, or a folder ("": chosen)
  std::string vae;              // optional decoder override: folder or .safetensors (e.g. TAESD)
  std::string scheduler;        // optional: a sampler name (schedulers/sampler_names) replacing the folder's
  std::string device = "auto";  // auto | cpu | cuda | cuda:N
  std::string dtype = "auto";   // auto (fp16 on CUDA, fp32 on CPU) | fp32 | fp16 | bf16
  bool channels_last = false;
  std::vector<LoraFileOption> loras;  // merged in this order (UNet pipelines only; the others refuse them)
};

}  // namespace catimage
