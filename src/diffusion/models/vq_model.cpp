#include "catimage/diffusion/models/vq_model.hpp"

#include <filesystem>

#include "catimage/io/weights.hpp"
#include "catimage/util/error.hpp"

namespace fs = std::filesystem;

namespace catimage {

VQModelConfig VQModelConfig::from(const ConfigView& c) {
  VQModelConfig v;
  const auto cls = c.get_string("_class_name", "VQModel");
  if (cls != "VQModel") c.bad("_class_name", "\"" + cls + "\" is not a VQModel");
  c.read("in_channels", v.in_channels);
  c.read("out_channels", v.out_channels);
  c.read("latent_channels", v.latent_channels);
  c.read("layers_per_block", v.layers_per_block);
  c.read("norm_num_groups", v.norm_num_groups);
  c.read("block_out_channels", v.block_out_channels);
  c.read("num_vq_embeddings", v.num_vq_embeddings);
  c.read("vq_embed_dim", v.vq_embed_dim);
  c.read("mid_block_add_attention", v.mid_block_add_attention);
  c.read("lookup_from_codebook", v.lookup_from_codebook);
  c.read("force_upcast", v.force_upcast);
  c.read("sample_size", v.sample_size);
  if (v.block_out_channels.empty()) c.bad("block_out_channels", "empty");
  for (int ch : v.block_out_channels)
    if (ch <= 0 || v.norm_num_groups <= 0 || ch % v.norm_num_groups != 0)
      c.bad("norm_num_groups", "does not divide block_out_channels");
  for (const char* key : {"in_channels", "out_channels", "latent_channels", "layers_per_block", "num_vq_embeddings"})
    if (c.has(key) && c.get_int(key) <= 0) c.bad(key, "must be positive");
  const std::size_t n = v.block_out_channels.size();
  if (c.has("down_block_types")) {
    const auto types = c.get_string_list("down_block_types");
    if (types.size() != n) c.bad("down_block_types", "needs one entry per block_out_channels");
    for (const auto& t : types)
      if (t != "DownEncoderBlock2D") c.bad("down_block_types", t + " is not supported (DownEncoderBlock2D)");
  }
  if (c.has("up_block_types")) {
    const auto types = c.get_string_list("up_block_types");
    if (types.size() != n) c.bad("up_block_types", "needs one entry per block_out_channels");
    for (const auto& t : types)
      if (t != "UpDecoderBlock2D") c.bad("up_block_types", t + " is not supported (UpDecoderBlock2D)");
  }
  c.require_defaults({{"act_fn", "silu"}, {"norm_type", "group"}});
  return v;
}

AutoencoderKLConfig VQModelConfig::autoencoder() const {
  AutoencoderKLConfig a;
  a.in_channels = in_channels;
  a.out_channels = out_channels;
  a.latent_channels = latent_channels;
  a.layers_per_block = layers_per_block;
  a.norm_num_groups = norm_num_groups;
  a.block_out_channels = block_out_channels;
  a.mid_block_add_attention = mid_block_add_attention;
  a.double_z = false;
  return a;
}

VectorQuantizerImpl::VectorQuantizerImpl(std::int64_t n_e, std::int64_t dim) {
  embedding = register_module("embedding", torch::nn::Embedding(n_e, dim));
}

std::pair<torch::Tensor, torch::Tensor> VectorQuantizerImpl::forward(const torch::Tensor& z) {
  const auto B = z.size(0), h = z.size(2), w = z.size(3);
  auto zl = z.permute({0, 2, 3, 1}).contiguous();
  auto flat = zl.view({-1, zl.size(3)});
  auto indices = torch::argmin(torch::cdist(flat, embedding->weight), 1);
  auto zq = embedding(indices).view(zl.sizes()).permute({0, 3, 1, 2}).contiguous();
  return {zq, indices.view({B, h, w})};
}

torch::Tensor VectorQuantizerImpl::get_codebook_entry(const torch::Tensor& indices) {
  return embedding(indices).permute({0, 3, 1, 2}).contiguous();
}

VQModelImpl::VQModelImpl(const VQModelConfig& c, bool with_encoder) : cfg(c) {
  const auto ae = c.autoencoder();
  const auto latent = c.latent_channels, dim = c.embed_dim();
  if (with_encoder) {
    encoder = register_module("encoder", VaeEncoder(ae));
    quant_conv = register_module("quant_conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(latent, dim, 1)));
  }
  quantize = register_module("quantize", VectorQuantizer(c.num_vq_embeddings, dim));
  post_quant_conv = register_module("post_quant_conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(dim, latent, 1)));
  decoder = register_module("decoder", VaeDecoder(ae));
}

torch::Tensor VQModelImpl::encode(const torch::Tensor& x) {
  if (!encoder) fail("this VQModel was loaded without its encoder");
  return quant_conv(encoder(x));
}

torch::Tensor VQModelImpl::decode(const torch::Tensor& quant) { return decoder(post_quant_conv(quant)); }

torch::Tensor VQModelImpl::decode_tokens(const torch::Tensor& ids) {
  if (ids.dim() != 3) fail("VQModel::decode_tokens: expected token ids (B, h, w), got {} dimensions", ids.dim());
  return decode(quantize->get_codebook_entry(ids));
}

VQModel load_vq_model(const std::string& dir, bool with_encoder) {
  VQModel m(VQModelConfig::from(ConfigView::load((fs::path(dir) / "config.json").string())), with_encoder);
  LoadOptions lo;
  if (!with_encoder) lo.ignored_prefixes = {"encoder.", "quant_conv."};
  load_weights(*m, WeightFiles::in_folder(dir, "diffusion_pytorch_model"), lo);
  m->eval();
  return m;
}

}  // namespace catimage
