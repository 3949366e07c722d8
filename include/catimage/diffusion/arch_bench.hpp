#pragma once
// One denoising step (or one text encoding) of an architecture built from its config.json with
// seeded random weights, for `catimage bench`: which module the config describes is read from
// its class (diffusers' _class_name, transformers' model_type), the inputs have the shapes the
// family's pipeline gives it, so a timed call costs what the same call costs in generation.
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>

namespace catimage {

struct ArchBenchShape {
  int batch = 1;               // images
  bool cfg = false;            // classifier-free guidance: the model sees 2 x batch rows
  int size = 512;              // image side in pixels
  int text_tokens = 0;         // 0: the family's (77 CLIP; 120 PixArt-α / T5, 300 for PixArt-Σ: pass it)
  bool channels_last = false;  // 4-D UNet weights and latents channels-last (CUDA only)
};

struct ArchBench {
  std::string family;  // "unet", "pixart", "uvit2d" (aMUSEd), "t5"
  std::string class_name;
  std::int64_t parameters = 0;
  std::string input;           // the shapes of one call, for the log
  std::function<void()> step;  // one forward pass (inputs fixed, output dropped)
};

// The config file of `arch`: a config.json, a folder holding one, or a shipped name
// (configs/archs/<name>-{unet,transformer,encoder}.json: sd15, sdxl, pixart-xl-2-512,
// amused-512, t5-v1_1-xxl, ...). Fails naming what was tried.
std::string arch_config_path(const std::string& arch);

// Builds the model of `config_path` in `dtype` on `device` (weights from torch's seeded
// initialisers: call torch::manual_seed first) and fixed random inputs of `shape`. Configs of
// other classes are refused naming the file and key.
ArchBench make_arch_bench(const std::string& config_path, const ArchBenchShape& shape, torch::Device device,
                          torch::Dtype dtype);

}  // namespace catimage
