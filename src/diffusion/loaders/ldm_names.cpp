#include "catimage/diffusion/loaders/ldm_names.hpp"

#include <spdlog/fmt/fmt.h>

#include <array>
#include <utility>

namespace catimage {

namespace {

using Kind = LdmBlock::Kind;
using Table = std::array<std::pair<const char*, const char*>, 6>;

// `key` is `prefix` or continues it after a '.'.
bool under(const std::string& key, const std::string& prefix) {
  return key.size() >= prefix.size() && key.compare(0, prefix.size(), prefix) == 0 &&
         (key.size() == prefix.size() || key[prefix.size()] == '.');
}

bool is_tensor_suffix(const std::string& rest) { return rest.empty() || rest == ".weight" || rest == ".bias"; }

// Replaces the leading segments of `rest` ("" or ".a.b...") found on one side of `table` by the
// other side's; false when none matches. nullptr entries end a table.
bool rename_head(std::string& rest, const Table& table, bool to_diffusers) {
  for (const auto& [ldm, diffusers] : table) {
    if (!ldm) break;
    const std::string from = to_diffusers ? ldm : diffusers, to = to_diffusers ? diffusers : ldm;
    if (under(rest, from)) {
      rest = to + rest.substr(from.size());
      return true;
    }
  }
  return false;
}

// The names inside an ldm ResBlock and their diffusers ResnetBlock2D names.
constexpr Table kUNetResnet = {{{".in_layers.0", ".norm1"},
                                {".in_layers.2", ".conv1"},
                                {".out_layers.0", ".norm2"},
                                {".out_layers.3", ".conv2"},
                                {".emb_layers.1", ".time_emb_proj"},
                                {".skip_connection", ".conv_shortcut"}}};
// The VAE's ResnetBlock: diffusers' names but for the shortcut.
constexpr Table kVaeResnet = {{{".norm1", ".norm1"},
                               {".conv1", ".conv1"},
                               {".norm2", ".norm2"},
                               {".conv2", ".conv2"},
                               {".nin_shortcut", ".conv_shortcut"}}};
// The VAE's AttnBlock: diffusers' Attention names.
constexpr Table kVaeAttention = {
    {{".norm", ".group_norm"}, {".q", ".to_q"}, {".k", ".to_k"}, {".v", ".to_v"}, {".proj_out", ".to_out.0"}}};
// An ldm SpatialTransformer's top-level modules, which diffusers' Transformer2DModel shares.
constexpr Table kSpatialTransformer = {{{".norm", ".norm"},
                                        {".proj_in", ".proj_in"},
                                        {".proj_out", ".proj_out"},
                                        {".transformer_blocks", ".transformer_blocks"}}};
// An OpenCLIP ResidualAttentionBlock (but the fused q/k/v) and transformers' CLIPEncoderLayer.
constexpr Table kOpenClipLayer = {{{".ln_1", ".layer_norm1"},
                                   {".ln_2", ".layer_norm2"},
                                   {".mlp.c_fc", ".mlp.fc1"},
                                   {".mlp.c_proj", ".mlp.fc2"},
                                   {".attn.out_proj", ".self_attn.out_proj"}}};

// The block whose prefix (ldm or diffusers side) is the longest one `key` is under.
const LdmBlock* longest(const std::vector<LdmBlock>& blocks, const std::string& key, std::string LdmBlock::*side) {
  const LdmBlock* best = nullptr;
  for (const auto& b : blocks)
    if (under(key, b.*side) && (!best || (b.*side).size() > (best->*side).size())) best = &b;
  return best;
}

// `key` under block `b`, renamed with the tables of its kind; "" when they do not map it.
std::string rename_in_block(const LdmBlock& b, const std::string& key, const Table& resnet, const Table& attention) {
  std::string rest = key.substr(b.ldm.size());
  bool ok = rest.empty();
  switch (b.kind) {
    case Kind::plain: ok = is_tensor_suffix(rest); break;
    case Kind::resnet: ok = ok || rename_head(rest, resnet, true); break;
    case Kind::attention: ok = ok || rename_head(rest, attention, true); break;
  }
  return ok ? b.diffusers + rest : "";
}

}  // namespace

// --- UNet -------------------------------------------------------------------------------------

LdmUNetNames::LdmUNetNames(const UNetConfig& c) {
  auto add = [&](std::string ldm, std::string diffusers, Kind k) {
    blocks_.push_back({std::move(ldm), std::move(diffusers), k});
  };
  add("time_embed.0", "time_embedding.linear_1", Kind::plain);
  add("time_embed.2", "time_embedding.linear_2", Kind::plain);
  if (c.text_time) {
    add("label_emb.0.0", "add_embedding.linear_1", Kind::plain);
    add("label_emb.0.2", "add_embedding.linear_2", Kind::plain);
  }
  add("input_blocks.0.0", "conv_in", Kind::plain);
  const std::size_t n = c.down_block_types.size();
  int i = 1;
  for (std::size_t b = 0; b < n; ++b) {
    const bool attn = c.down_block_types[b] == "CrossAttnDownBlock2D";
    for (int j = 0; j < c.layers_per_block[b]; ++j, ++i) {
      add(fmt::format("input_blocks.{}.0", i), fmt::format("down_blocks.{}.resnets.{}", b, j), Kind::resnet);
      if (attn)
        add(fmt::format("input_blocks.{}.1", i), fmt::format("down_blocks.{}.attentions.{}", b, j), Kind::attention);
    }
    if (b + 1 < n)
      add(fmt::format("input_blocks.{}.0.op", i++), fmt::format("down_blocks.{}.downsamplers.0.conv", b), Kind::plain);
  }
  add("middle_block.0", "mid_block.resnets.0", Kind::resnet);
  add("middle_block.1", "mid_block.attentions.0", Kind::attention);
  add("middle_block.2", "mid_block.resnets.1", Kind::resnet);
  i = 0;
  for (std::size_t b = 0; b < n; ++b) {
    const bool attn = c.up_block_types[b] == "CrossAttnUpBlock2D";
    const int layers = c.layers_per_block[n - 1 - b] + 1;  // an up block has one resnet more
    for (int j = 0; j < layers; ++j, ++i) {
      add(fmt::format("output_blocks.{}.0", i), fmt::format("up_blocks.{}.resnets.{}", b, j), Kind::resnet);
      if (attn)
        add(fmt::format("output_blocks.{}.1", i), fmt::format("up_blocks.{}.attentions.{}", b, j), Kind::attention);
      if (j + 1 == layers && b + 1 < n)
        add(fmt::format("output_blocks.{}.{}.conv", i, attn ? 2 : 1), fmt::format("up_blocks.{}.upsamplers.0.conv", b),
            Kind::plain);
    }
  }
  add("out.0", "conv_norm_out", Kind::plain);
  add("out.2", "conv_out", Kind::plain);
}

LdmRename LdmUNetNames::to_diffusers(const std::string& key) const {
  const LdmBlock* b = longest(blocks_, key, &LdmBlock::ldm);
  if (!b) return {};
  std::string name = rename_in_block(*b, key, kUNetResnet, kSpatialTransformer);
  if (name.empty()) return {};
  return {{{std::move(name)}}, ""};
}

std::optional<std::string> LdmUNetNames::to_ldm(const std::string& key) const {
  const LdmBlock* b = longest(blocks_, key, &LdmBlock::diffusers);
  if (!b) return std::nullopt;
  std::string rest = key.substr(b->diffusers.size());
  bool ok = rest.empty();
  switch (b->kind) {
    case Kind::plain: ok = is_tensor_suffix(rest); break;
    case Kind::resnet: ok = ok || rename_head(rest, kUNetResnet, false); break;
    case Kind::attention: ok = ok || rename_head(rest, kSpatialTransformer, false); break;
  }
  if (!ok) return std::nullopt;
  return b->ldm + rest;
}

// --- VAE --------------------------------------------------------------------------------------

LdmVaeNames::LdmVaeNames(const AutoencoderKLConfig& c) {
  auto add = [&](std::string ldm, std::string diffusers, Kind k) {
    blocks_.push_back({std::move(ldm), std::move(diffusers), k});
  };
  add("quant_conv", "quant_conv", Kind::plain);
  add("post_quant_conv", "post_quant_conv", Kind::plain);
  for (const std::string s : {"encoder", "decoder"}) {
    add(s + ".conv_in", s + ".conv_in", Kind::plain);
    add(s + ".conv_out", s + ".conv_out", Kind::plain);
    add(s + ".norm_out", s + ".conv_norm_out", Kind::plain);
    add(s + ".mid.block_1", s + ".mid_block.resnets.0", Kind::resnet);
    add(s + ".mid.block_2", s + ".mid_block.resnets.1", Kind::resnet);
    if (c.mid_block_add_attention) add(s + ".mid.attn_1", s + ".mid_block.attentions.0", Kind::attention);
  }
  const std::size_t n = c.block_out_channels.size();
  for (std::size_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < c.layers_per_block; ++j)
      add(fmt::format("encoder.down.{}.block.{}", i, j), fmt::format("encoder.down_blocks.{}.resnets.{}", i, j),
          Kind::resnet);
    if (i + 1 < n)
      add(fmt::format("encoder.down.{}.downsample.conv", i),
          fmt::format("encoder.down_blocks.{}.downsamplers.0.conv", i), Kind::plain);
    // ldm numbers the decoder's blocks from the lowest resolution, diffusers from the highest
    for (std::int64_t j = 0; j <= c.layers_per_block; ++j)
      add(fmt::format("decoder.up.{}.block.{}", i, j), fmt::format("decoder.up_blocks.{}.resnets.{}", n - 1 - i, j),
          Kind::resnet);
    if (i > 0)
      add(fmt::format("decoder.up.{}.upsample.conv", i),
          fmt::format("decoder.up_blocks.{}.upsamplers.0.conv", n - 1 - i), Kind::plain);
  }
}

LdmRename LdmVaeNames::to_diffusers(const std::string& key) const {
  const LdmBlock* b = longest(blocks_, key, &LdmBlock::ldm);
  if (!b) return {};
  std::string name = rename_in_block(*b, key, kVaeResnet, kVaeAttention);
  if (name.empty()) return {};
  // ldm's AttnBlock projects with 1x1 convolutions, diffusers' Attention with linears
  const bool projection = b->kind == Kind::attention && name.size() > 7 &&
                          name.compare(name.size() - 7, 7, ".weight") == 0 &&
                          name.find(".group_norm.") == std::string::npos;
  return {{{std::move(name), projection ? TensorOp::squeeze_1x1 : TensorOp::none}}, ""};
}

// --- text encoders ----------------------------------------------------------------------------

LdmRename openai_clip_to_diffusers(const std::string& key) {
  if (key == "text_model.embeddings.position_ids" || key == "embeddings.position_ids")
    return {{}, "position_ids is a buffer of positions, not a weight"};
  if (under(key, "text_model")) return {{{key}}, ""};
  for (const char* top : {"embeddings", "encoder", "final_layer_norm"})
    if (under(key, top)) return {{{"text_model." + key}}, ""};
  return {};
}

LdmRename openclip_to_diffusers(const std::string& key, const ClipTextConfig& c) {
  auto one = [](std::string name, TensorOp op = TensorOp::none) { return LdmRename{{{std::move(name), op}}, ""}; };
  if (key == "token_embedding.weight") return one("text_model.embeddings.token_embedding.weight");
  if (key == "positional_embedding") return one("text_model.embeddings.position_embedding.weight");
  if (key == "ln_final.weight" || key == "ln_final.bias") return one("text_model.final_layer_norm" + key.substr(8));
  if (key == "logit_scale") return {{}, "logit_scale only scales CLIP's image-text similarities"};
  if (key == "text_projection") {
    if (c.with_projection) return one("text_projection.weight", TensorOp::transpose);
    return {{}, "the text encoder has no projection (a CLIPTextModel, as diffusers builds SD 2.x's)"};
  }
  const std::string blocks = "transformer.resblocks.";
  if (key.compare(0, blocks.size(), blocks) != 0) return {};
  const auto dot = key.find('.', blocks.size());
  if (dot == std::string::npos) return {};
  const std::string index = key.substr(blocks.size(), dot - blocks.size());
  if (index.empty() || index.size() > 4 || index.find_first_not_of("0123456789") != std::string::npos) return {};
  const int layer = std::stoi(index);
  const std::string rest = key.substr(dot);  // ".ln_1.weight"
  std::string name;
  const bool fused = rest == ".attn.in_proj_weight" || rest == ".attn.in_proj_bias";
  for (const auto& [ldm, diffusers] : kOpenClipLayer)
    for (const char* tensor : {".weight", ".bias"})
      if (ldm && rest == std::string(ldm) + tensor)
        name = fmt::format("text_model.encoder.layers.{}{}{}", layer, diffusers, tensor);
  if (!fused && name.empty()) return {};
  if (layer >= c.num_hidden_layers)
    return {{},
            fmt::format("layer {} is past the text encoder's {} layers (SD 2.x conditions on the penultimate layer: "
                        "diffusers' SD 2.x text encoder ends there)",
                        layer, c.num_hidden_layers)};
  if (!fused) return one(name);
  LdmRename r;
  const char* tensor = rest == ".attn.in_proj_bias" ? "bias" : "weight";
  int part = 0;
  for (const char* qkv : {"q", "k", "v"})
    r.names.push_back({fmt::format("text_model.encoder.layers.{}.self_attn.{}_proj.{}", layer, qkv, tensor),
                       TensorOp::third, part++});
  return r;
}

}  // namespace catimage
