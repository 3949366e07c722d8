#include "catimage/diffusion/models/uvit_2d.hpp"

namespace catimage {

UVit2DConfig UVit2DConfig::from(const ConfigView& c) {
  UVit2DConfig v;
  const auto cls = c.get_string("_class_name", "UVit2DModel");
  if (cls != "UVit2DModel") c.bad("_class_name", "\"" + cls + "\" is not a UVit2DModel");
  c.read("hidden_size", v.hidden_size);
  c.read("use_bias", v.use_bias);
  c.read("cond_embed_dim", v.cond_embed_dim);
  c.read("micro_cond_encode_dim", v.micro_cond_encode_dim);
  c.read("micro_cond_embed_dim", v.micro_cond_embed_dim);
  c.read("encoder_hidden_size", v.encoder_hidden_size);
  c.read("vocab_size", v.vocab_size);
  c.read("codebook_size", v.codebook_size);
  c.read("in_channels", v.in_channels);
  c.read("block_out_channels", v.block_out_channels);
  c.read("num_res_blocks", v.num_res_blocks);
  c.read("downsample", v.downsample);
  c.read("upsample", v.upsample);
  c.read("block_num_heads", v.block_num_heads);
  c.read("num_hidden_layers", v.num_hidden_layers);
  c.read("num_attention_heads", v.num_attention_heads);
  c.read("intermediate_size", v.intermediate_size);
  c.read("layer_norm_eps", v.layer_norm_eps);
  c.read("ln_elementwise_affine", v.ln_elementwise_affine);
  c.read("sample_size", v.sample_size);
  // Dropout does nothing at inference; any probability is accepted (and ignored), as
  // diffusers' eval() mode does.
  for (const char* key : {"hidden_size", "cond_embed_dim", "micro_cond_encode_dim", "micro_cond_embed_dim",
                          "encoder_hidden_size", "vocab_size", "codebook_size", "in_channels", "block_out_channels",
                          "block_num_heads", "num_attention_heads", "intermediate_size", "sample_size"})
    if (c.has(key) && c.get_int(key) <= 0) c.bad(key, "must be positive");
  if (v.num_res_blocks < 0 || v.num_hidden_layers < 0) c.bad("num_hidden_layers", "must not be negative");
  if (v.hidden_size % v.num_attention_heads != 0) c.bad("num_attention_heads", "must divide hidden_size");
  if (v.block_out_channels % v.block_num_heads != 0) c.bad("block_num_heads", "must divide block_out_channels");
  if (v.micro_cond_embed_dim % v.micro_cond_encode_dim != 0)
    c.bad("micro_cond_embed_dim", "must be a multiple of micro_cond_encode_dim (one embedding per micro condition)");
  if (v.codebook_size > v.vocab_size) c.bad("codebook_size", "larger than vocab_size");
  return v;
}

}  // namespace catimage
