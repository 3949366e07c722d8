#include "catimage/diffusion/models/uvit_2d.hpp"

#include <filesystem>

#include "catimage/io/weights.hpp"

namespace fs = std::filesystem;

namespace catimage {

UVit2DModelImpl::UVit2DModelImpl(const UVit2DConfig& c) : cfg(c) {
  const auto hidden = c.hidden_size;
  const bool bias = c.use_bias, affine = c.ln_elementwise_affine;
  const double eps = c.layer_norm_eps;
  encoder_proj = register_module("encoder_proj",
                                 torch::nn::Linear(torch::nn::LinearOptions(c.encoder_hidden_size, hidden).bias(bias)));
  encoder_proj_layer_norm = register_module("encoder_proj_layer_norm", RMSNorm(hidden, eps, affine));
  embed =
      register_module("embed", UVit2DConvEmbed(c.in_channels, c.block_out_channels, c.vocab_size, affine, eps, bias));
  cond_embed =
      register_module("cond_embed", TimestepEmbedding(c.micro_cond_embed_dim + c.cond_embed_dim, hidden, bias));

  UVitBlockOptions block;
  block.channels = c.block_out_channels;
  block.num_res_blocks = c.num_res_blocks;
  block.hidden_size = hidden;
  block.block_num_heads = c.block_num_heads;
  block.elementwise_affine = affine;
  block.bias = bias;
  block.eps = eps;
  block.downsample = c.downsample;
  down_block = register_module("down_block", UVitBlock(block));

  project_to_hidden_norm = register_module("project_to_hidden_norm", RMSNorm(c.block_out_channels, eps, affine));
  project_to_hidden = register_module(
      "project_to_hidden", torch::nn::Linear(torch::nn::LinearOptions(c.block_out_channels, hidden).bias(bias)));

  AdaNormTransformerBlockOptions layer;
  layer.dim = hidden;
  layer.num_attention_heads = c.num_attention_heads;
  layer.attention_head_dim = hidden / c.num_attention_heads;
  layer.cross_attention_dim = hidden;
  layer.conditioning_dim = hidden;
  layer.ff_inner_dim = c.intermediate_size;
  layer.attention_bias = layer.attention_out_bias = layer.ff_bias = layer.ada_norm_bias = bias;
  layer.norm_elementwise_affine = affine;
  layer.norm_eps = eps;
  transformer_layers = register_module("transformer_layers", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) transformer_layers->push_back(AdaNormTransformerBlock(layer));

  project_from_hidden_norm = register_module("project_from_hidden_norm", RMSNorm(hidden, eps, affine));
  project_from_hidden = register_module(
      "project_from_hidden", torch::nn::Linear(torch::nn::LinearOptions(hidden, c.block_out_channels).bias(bias)));

  block.downsample = false;
  block.upsample = c.upsample;
  up_block = register_module("up_block", UVitBlock(block));
  mlm_layer = register_module("mlm_layer",
                              ConvMlmLayer(c.block_out_channels, c.in_channels, bias, affine, eps, c.codebook_size));
}

torch::Tensor UVit2DModelImpl::forward(const torch::Tensor& input_ids, torch::Tensor encoder_hidden_states,
                                       torch::Tensor pooled_text_emb, const torch::Tensor& micro_conds) {
  encoder_hidden_states = encoder_proj_layer_norm(encoder_proj(encoder_hidden_states));

  // the conditioning vector: pooled text embedding and the micro conditions' sinusoidal embeddings
  const auto B = input_ids.size(0);
  auto micro = timestep_embedding(micro_conds.flatten(), cfg.micro_cond_encode_dim, true, 0).reshape({B, -1});
  const auto dtype = encoder_proj->weight.scalar_type();
  pooled_text_emb = torch::cat({pooled_text_emb.to(torch::kFloat32), micro}, 1).to(dtype);
  pooled_text_emb = cond_embed(pooled_text_emb).to(encoder_hidden_states.scalar_type());

  // convolutional stage, transformer over the tokens, convolutional stage, logits
  auto h = down_block(embed(input_ids), pooled_text_emb, encoder_hidden_states);
  const auto C = h.size(1), H = h.size(2), W = h.size(3);
  h = project_to_hidden(project_to_hidden_norm(h.permute({0, 2, 3, 1}).reshape({B, H * W, C})));
  for (std::size_t i = 0; i < transformer_layers->size(); ++i)
    h = transformer_layers->at<AdaNormTransformerBlockImpl>(i).forward(h, encoder_hidden_states, pooled_text_emb);
  h = project_from_hidden(project_from_hidden_norm(h));
  h = h.reshape({B, H, W, C}).permute({0, 3, 1, 2});
  return mlm_layer(up_block(h, pooled_text_emb, encoder_hidden_states));
}

UVit2DModel load_uvit_2d(const std::string& dir) {
  UVit2DModel m(UVit2DConfig::from(ConfigView::load((fs::path(dir) / "config.json").string())));
  load_weights(*m, WeightFiles::in_folder(dir, "diffusion_pytorch_model"));
  m->eval();
  return m;
}

}  // namespace catimage
