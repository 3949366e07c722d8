#pragma once
// LoRA files merged into a pipeline's weights at load, so that a step costs what it did without
// them: W += scale · (α/r) · up·down for every layer of the file, in fp32 on the freshly loaded
// (fp32) modules, before they are cast to the run dtype — diffusers' fuse_lora
// (LoRACompatibleLinear/Conv._fuse_lora: up·α/r, then up.flatten(1)·down.flatten(1) reshaped to the
// weight, times the scale). Several LoRAs are merged one after the other. The modules keep loading
// by their own diffusers names and know nothing of LoRAs; each format's key map lives here:
//
//   kohya / A1111 (sd-scripts, LyCORIS LoCon): `lora_unet_<module>`, `lora_te_<module>` (the text
//     encoder of SD1/SD2), `lora_te1_` / `lora_te2_` (SDXL's text_encoder / text_encoder_2), each
//     with `.lora_down.weight`, `.lora_up.weight` and an optional `.alpha` (none: α = r). <module>
//     is a module path with '_' for '.'; since diffusers' names hold '_' themselves (to_q,
//     proj_in, conv_shortcut, ...) it is matched against the component's actual weight names
//     rather than guessed back (diffusers' converter keeps a list of such renames instead).
//     The UNet's original (ldm/sgm) block names, which sd-scripts writes for SDXL
//     (`input_blocks_4_1_transformer_blocks_0_attn1_to_q`, `middle_block_...`, `output_blocks_...`,
//     `..._in_layers_2`, `..._emb_layers_1`, `..._skip_connection`, `..._op`, `time_embed_0`,
//     `label_emb_0_0`), are matched the same way against the ldm names of the UNet's weights
//     (diffusion/loaders/ldm_names, the single-file loader's table), where diffusers renames
//     them with _maybe_map_sgm_blocks_to_diffusers and string replacements.
//   diffusers / PEFT: `unet.<module>`, `text_encoder.<module>`, `text_encoder_2.<module>` (keys
//     without a component prefix are the UNet's: diffusers' older files), with `.lora_A.weight` /
//     `.lora_B.weight` (PEFT), `.lora.down.weight` / `.lora.up.weight`,
//     `.lora_linear_layer.down.weight` / `.up.weight` (diffusers) or the attention-processor
//     names `attn1.processor.to_q_lora.down.weight` (UNet) and `self_attn.to_q_lora.down.weight`
//     (text encoders), and an optional `<module>.alpha` (none: α = r, PEFT's scaling 1 as
//     diffusers loads these files).
//   Conv layers (LoCon, LCM-LoRA's resnets): down [r, in, kh, kw], up [out, r, 1, 1].
//
// Everything else is refused naming the file and the key, never skipped: an unknown key, a down
// without its up (or an α without either), LyCORIS LoHa / LoKr / Tucker (`hada_`, `lokr_`,
// `lora_mid`), DoRA (`dora_scale`), a component the pipeline does not have, a module the
// component does not have, two layers updating one weight, shapes that do not fit it.
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "catimage/diffusion/loaders/ldm_names.hpp"
#include "catimage/diffusion/pipeline_options.hpp"
#include "catimage/io/weights.hpp"

namespace catimage {

enum class LoraFormat { kohya, diffusers };

// One low-rank update of one weight, as a LoRA file names it.
struct LoraLayer {
  std::string component;  // "unet", "text_encoder" or "text_encoder_2" (diffusers' folder names)
  std::string name;       // the file's name for the layer (its keys less the suffix), for messages
  // diffusers: the module path (down_blocks.0.attentions.0.proj_in); kohya: the path with '_'
  // for '.', resolved against the component's weight names when merged.
  std::string module;
  std::string down, up, alpha;  // the file's tensor names; alpha "" when it has none
};

class LoraFile {
 public:
  // Reads the file's header and groups its keys into layers; fails naming the file and every
  // key no format accounts for.
  explicit LoraFile(const std::string& path);

  const std::string& path() const { return path_; }
  LoraFormat format() const { return format_; }
  const std::vector<LoraLayer>& layers() const { return layers_; }
  std::vector<std::string> components() const;  // the components it updates, sorted

  // Merges scale · (α/r) · up·down of each of its `component` layers into `module` (that
  // component of the pipeline). `ldm`: the UNet's ldm names, for kohya files that use them (a
  // UNet only). Fails naming the layer when the module has no such weight, when two layers update
  // one weight, or when the shapes do not fit.
  void merge_into(torch::nn::Module& module, const std::string& component, double scale,
                  const LdmUNetNames* ldm = nullptr) const;

 private:
  std::string path_;
  LoraFormat format_ = LoraFormat::diffusers;
  std::vector<LoraLayer> layers_;
  WeightFiles tensors_;
};

// The check before any weights load: every file of `loras` reads as a LoRA (see LoraFile) whose
// components are among `components` (what the pipeline `pipeline` has). Fails naming the file.
void check_loras(const std::vector<LoraFileOption>& loras, const std::vector<std::string>& components,
                 const std::string& pipeline);

// Merges every LoRA of `loras`, in order, into the pipeline's modules (component name -> its
// module, still fp32); a LoRA with layers for a component not in `components` is refused.
// `unet_ldm`: the ldm names of the "unet" component (see merge_into).
void merge_loras(const std::vector<LoraFileOption>& loras, const std::map<std::string, torch::nn::Module*>& components,
                 const std::string& pipeline, const LdmUNetNames* unet_ldm = nullptr);

}  // namespace catimage
