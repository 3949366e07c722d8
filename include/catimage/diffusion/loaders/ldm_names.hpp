#pragma once
// The names the original Stable Diffusion code gives a checkpoint's tensors (CompVis/Stability
// "ldm" and "sgm" layouts: single-file checkpoints, kohya LoRA names) and their diffusers names,
// one table per component, built from the component's diffusers config — the renaming diffusers
// does in loaders/single_file_utils.py (convert_ldm_unet_checkpoint, convert_ldm_vae_checkpoint,
// convert_ldm_clip_checkpoint, convert_open_clip_checkpoint). The model modules know only their
// diffusers names; this is the one place that knows the others.
//
// Keys are relative to the component's prefix in a checkpoint (model.diffusion_model.,
// first_stage_model., cond_stage_model.transformer. ...: diffusion/loaders/single_file). A key
// may name a tensor ("input_blocks.1.0.in_layers.2.weight") or a module ("input_blocks.4.1.proj_in",
// a LoRA target once kohya's underscores are dots); the rest of the key is kept.
//
// Where diffusers finds a tensor by looking (the ldm block index of each diffusers block), the
// tables are computed from the config: block i of input_blocks is a resnet, an attention or a
// downsampler according to the down blocks' types and layers_per_block, so an index or a
// sub-module the architecture does not have maps to nothing.
#include <optional>
#include <string>
#include <vector>

#include "catimage/diffusion/models/clip_text_model.hpp"
#include "catimage/diffusion/models/unet_2d_condition.hpp"
#include "catimage/diffusion/models/vae.hpp"

namespace catimage {

// What happens to the tensor on the way (diffusers' conversion does the same).
enum class TensorOp {
  none,
  squeeze_1x1,  // [out, in, 1, 1] conv -> [out, in] linear (the VAE's mid-block attention in ldm files)
  transpose,    // OpenCLIP's text_projection [width, proj] -> the Linear weight [proj, width]
  third,        // rows [part * n/3, (part + 1) * n/3) of OpenCLIP's fused in_proj_weight/bias: q, k, v
};

struct DiffusersName {
  std::string name;
  TensorOp op = TensorOp::none;
  int part = 0;  // TensorOp::third: 0 q, 1 k, 2 v
};

// What one foreign key becomes: one diffusers name (three for a fused q/k/v), or none with the
// reason diffusers drops it (`dropped`, e.g. OpenCLIP's logit_scale), or nothing (no rule maps it).
struct LdmRename {
  std::vector<DiffusersName> names;
  std::string dropped;

  bool mapped() const { return !names.empty() || !dropped.empty(); }
};

// One module of a component under both names: the ldm module prefix (without the trailing
// '.') and its diffusers one, and which table renames the names inside it.
struct LdmBlock {
  enum class Kind { plain, resnet, attention };  // plain: a conv, linear or norm (weight, bias)
  std::string ldm, diffusers;
  Kind kind;
};

// The UNet of model.diffusion_model.*: time_embed.{0,2} -> time_embedding.linear_{1,2},
// input_blocks.0.0 -> conv_in, input_blocks.I.0 / .I.1 / .I.0.op -> down_blocks.B.resnets.J /
// .attentions.J / .downsamplers.0.conv, middle_block.{0,1,2} -> mid_block.resnets.0 /
// .attentions.0 / .resnets.1, output_blocks.I.0 / .I.1 / .I.1.conv or .I.2.conv ->
// up_blocks.B.resnets.J / .attentions.J / .upsamplers.0.conv, out.{0,2} -> conv_norm_out /
// conv_out, label_emb.0.{0,2} -> add_embedding.linear_{1,2} (SDXL's text_time); inside a resnet
// in_layers.0/2, out_layers.0/3, emb_layers.1, skip_connection -> norm1, conv1, norm2, conv2,
// time_emb_proj, conv_shortcut; attention (SpatialTransformer) blocks keep their names.
class LdmUNetNames {
 public:
  explicit LdmUNetNames(const UNetConfig& c);
  LdmRename to_diffusers(const std::string& ldm_key) const;
  // The inverse, for messages and for writers of ldm-named files (nullopt: no ldm name).
  std::optional<std::string> to_ldm(const std::string& diffusers_key) const;
  const std::vector<LdmBlock>& blocks() const { return blocks_; }

 private:
  std::vector<LdmBlock> blocks_;
};

// The AutoencoderKL of first_stage_model.* (or of a separate ldm VAE file): encoder.down.I.block.J
// -> encoder.down_blocks.I.resnets.J, encoder.down.I.downsample.conv ->
// encoder.down_blocks.I.downsamplers.0.conv, decoder.up.I.block.J -> decoder.up_blocks.(N-1-I).resnets.J
// (ldm counts the decoder's blocks from the lowest resolution), decoder.up.I.upsample.conv ->
// ...upsamplers.0.conv, {encoder,decoder}.mid.block_{1,2} -> mid_block.resnets.{0,1},
// mid.attn_1 -> mid_block.attentions.0 (norm, q, k, v, proj_out -> group_norm, to_q, to_k, to_v,
// to_out.0; 1x1 conv weights become linear ones), norm_out -> conv_norm_out, nin_shortcut ->
// conv_shortcut; conv_in, conv_out, quant_conv and post_quant_conv keep their names.
class LdmVaeNames {
 public:
  explicit LdmVaeNames(const AutoencoderKLConfig& c);
  LdmRename to_diffusers(const std::string& ldm_key) const;
  const std::vector<LdmBlock>& blocks() const { return blocks_; }

 private:
  std::vector<LdmBlock> blocks_;
};

// OpenAI CLIP text encoders as transformers saves them (SD1.x's cond_stage_model.transformer.*,
// SDXL's conditioner.embedders.0.transformer.*): already transformers' names. Some SD1.x files
// lack the "text_model." level (embeddings., encoder., final_layer_norm. at the top); it is added
// as the AUTOMATIC1111 web UI does (its checkpoint_dict_replacements_sd1). position_ids, a buffer
// older transformers saved, is dropped.
LdmRename openai_clip_to_diffusers(const std::string& key);

// OpenCLIP text encoders (SD2.x's cond_stage_model.model.*, SD-Turbo's and the SDXL refiner's
// conditioner.embedders.0.model.*, SDXL's conditioner.embedders.1.model.*) -> transformers'
// CLIPTextModel(WithProjection): token_embedding, positional_embedding, ln_final ->
// text_model.embeddings.token_embedding, .position_embedding, text_model.final_layer_norm;
// transformer.resblocks.N.{ln_1, ln_2, mlp.c_fc, mlp.c_proj, attn.out_proj} ->
// text_model.encoder.layers.N.{layer_norm1, layer_norm2, mlp.fc1, mlp.fc2, self_attn.out_proj};
// attn.in_proj_weight/bias -> self_attn.{q,k,v}_proj (thirds of the fused tensor); text_projection
// -> text_projection.weight transposed when the model has a projection (SDXL), dropped otherwise
// (SD2.x); logit_scale dropped; layers at or past the config's num_hidden_layers dropped (SD2.x
// files hold 24 layers, diffusers' SD2 text encoder keeps 23: the pipeline uses the penultimate).
LdmRename openclip_to_diffusers(const std::string& key, const ClipTextConfig& c);

}  // namespace catimage
