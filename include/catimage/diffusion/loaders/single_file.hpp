#pragma once
// Single-file Stable Diffusion checkpoints (.safetensors in the original layouts: CompVis' ldm
// with model.diffusion_model., first_stage_model. and cond_stage_model.; Stability's sgm with
// conditioner.embedders.N.), read as the components of the diffusers pipeline whose configs
// describe them. What the file is comes from its keys (checkpoint_layouts(), one row per family
// and layout); every key must be a tensor of a component (renamed by diffusion/loaders/ldm_names)
// or one diffusers drops, or the file is refused naming the first keys no rule maps.
//
// EMA: a file holding model_ema.* copies of the UNet (CompVis' training checkpoints) is read
// with them, the weights its authors meant for sampling (diffusers' converters take them with
// extract_ema=True); its model.diffusion_model.* weights are then unused. fp16/bf16 files load
// in the pipeline's dtype like any safetensors (io/weights).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "catimage/io/weights.hpp"

namespace catimage {

struct CheckpointLayout {
  enum class Kind { unet, vae, openai_clip, openclip };
  struct Part {
    std::string component;  // the diffusers pipeline's: unet, vae, text_encoder, text_encoder_2
    std::string prefix;     // its keys' prefix in the file
    Kind kind;
  };
  std::string family;          // sd15 | sd21 | sdxl
  std::string what;            // for messages: "an SD 2.x checkpoint (ldm layout, OpenCLIP text encoder ...)"
  std::string default_config;  // the shipped configs (loaders/shipped_configs) it runs with by default
  std::vector<Part> parts;
};

// The layouts this runtime reads, in the order they are tried (the first whose text encoder
// prefixes all hold keys).
const std::vector<CheckpointLayout>& checkpoint_layouts();

// Whether `path` is a regular file named *.safetensors.
bool is_checkpoint_file(const std::string& path);
// Fails for a pickled checkpoint (a regular file named .ckpt, .pt, .pth or .bin), naming it with
// the one-line hint of how to convert it; does nothing for any other path (a folder named x.bin).
void refuse_pickled_checkpoint(const std::string& path);

class SingleFileCheckpoint {
 public:
  // Opens the file (its header; tensors are read when loaded) and detects its layout. Fails
  // naming the file for what this runtime does not run (no UNet or text encoder where a
  // layout has them, an SDXL refiner, an inpainting UNet, EMA copies missing for some keys).
  explicit SingleFileCheckpoint(const std::string& path);

  const std::string& path() const { return path_; }
  const CheckpointLayout& layout() const { return *layout_; }
  bool ema() const { return ema_; }

  // Fails unless every key maps to a component of the pipeline configured in `config_dir` (a
  // diffusers folder's configs) or is one diffusers drops; the error names the first unmapped
  // keys and how many there are.
  void check_keys(const std::string& config_dir) const;
  // `component`'s tensors under its diffusers names, for the configs in `config_dir`.
  std::shared_ptr<const WeightSource> component(const std::string& component, const std::string& config_dir) const;

 private:
  std::string path_;
  std::shared_ptr<const WeightFiles> file_;
  const CheckpointLayout* layout_ = nullptr;
  bool ema_ = false;
};

// A separate VAE file in the ldm layout (encoder.down.0.block.0..., decoder.up.0..., optionally
// under first_stage_model. or vae.): the decoder's tensors under diffusers' names for the
// AutoencoderKL config `vae_config`. Returns null when the file is not in the ldm layout (a
// diffusers AutoencoderKL/AutoencoderTiny file, read as it is). Unmapped keys are refused.
std::shared_ptr<const WeightSource> ldm_vae_file(const std::string& path, const std::string& vae_config);

}  // namespace catimage
