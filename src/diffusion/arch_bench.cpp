// make_arch_bench: a random-weight model of each family and the inputs its pipeline feeds it.
#include "catimage/diffusion/arch_bench.hpp"

#include <filesystem>

#include "catimage/diffusion/models/pixart_transformer_2d.hpp"
#include "catimage/diffusion/models/t5_encoder.hpp"
#include "catimage/diffusion/models/unet_2d_condition.hpp"
#include "catimage/diffusion/models/uvit_2d.hpp"
#include "catimage/io/config_view.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/paths.hpp"

namespace fs = std::filesystem;

namespace catimage {

namespace {

// aMUSEd's VQ-GAN downsamples by 16 (five resolution levels), the UNet and PixArt VAEs by 8.
constexpr int kVaeScale = 8, kVqScale = 16;

std::int64_t count_parameters(const torch::nn::Module& m) {
  std::int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

std::string dims(const torch::Tensor& t) {
  std::string s = "(";
  for (std::int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + ")";
}

int rows(const ArchBenchShape& s) { return s.batch * (s.cfg ? 2 : 1); }

int side(const ArchBenchShape& s, int scale, const std::string& family) {
  if (s.size % scale != 0) fail("--size {}: {} models need a multiple of {}", s.size, family, scale);
  return s.size / scale;
}

ArchBench unet_bench(const ConfigView& c, const ArchBenchShape& s, torch::Device device, torch::Dtype dtype) {
  auto cfg = UNetConfig::from(c);
  UNet2DConditionModel unet(cfg);
  unet->eval();
  unet->to(device, dtype);
  const bool cl = s.channels_last && device.is_cuda();
  if (cl)
    for (auto& p : unet->parameters())
      if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
  const int B = rows(s), lat = side(s, kVaeScale, "UNet"), L = s.text_tokens > 0 ? s.text_tokens : 77;
  auto opts = torch::TensorOptions().dtype(dtype).device(device);
  auto x = torch::randn({B, cfg.in_channels, lat, lat}, opts);
  if (cl) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  auto ctx = torch::randn({B, L, cfg.cross_attention_dim()}, opts);
  torch::Tensor pooled, time_ids;
  if (cfg.text_time) {
    pooled = torch::randn({B, cfg.projection_class_embeddings_input_dim - 6 * cfg.addition_time_embed_dim}, opts);
    const auto px = static_cast<float>(s.size);
    time_ids = torch::tensor({px, px, 0.f, 0.f, px, px}).repeat({B, 1}).to(device, dtype);
  }
  auto t = torch::full({1}, 500.0, torch::TensorOptions().dtype(torch::kFloat32).device(device));
  ArchBench b{
      "unet", "UNet2DConditionModel", count_parameters(*unet), "latents " + dims(x) + ", text " + dims(ctx), {}};
  b.step = [unet, x, t, ctx, pooled, time_ids]() mutable { (void)unet(x, t, ctx, pooled, time_ids); };
  return b;
}

ArchBench pixart_bench(const ConfigView& c, const ArchBenchShape& s, torch::Device device, torch::Dtype dtype) {
  auto cfg = PixArtTransformerConfig::from(c);
  PixArtTransformer2DModel model(cfg);
  model->eval();
  model->to(device, dtype);
  const int B = rows(s), lat = side(s, kVaeScale * static_cast<int>(cfg.patch_size), "PixArt") * cfg.patch_size;
  const int L = s.text_tokens > 0 ? s.text_tokens : 120;
  auto opts = torch::TensorOptions().dtype(dtype).device(device);
  auto x = torch::randn({B, cfg.in_channels, lat, lat}, opts);
  auto ctx = torch::randn({B, L, cfg.text_dim()}, opts);
  auto mask = torch::ones({B, L}, torch::TensorOptions().dtype(torch::kInt64).device(device));
  auto t = torch::full({B}, 500.0, torch::TensorOptions().dtype(torch::kFloat32).device(device));
  PixArtMicroConditions micro;
  if (cfg.use_additional_conditions) {
    micro.resolution = torch::full({B, 2}, static_cast<double>(s.size), opts);
    micro.aspect_ratio = torch::ones({B, 1}, opts);
  }
  ArchBench b{"pixart", cfg.class_name, count_parameters(*model), "latents " + dims(x) + ", text " + dims(ctx), {}};
  b.step = [model, x, t, ctx, mask, micro]() mutable { (void)model(x, t, ctx, mask, micro); };
  return b;
}

ArchBench uvit_bench(const ConfigView& c, const ArchBenchShape& s, torch::Device device, torch::Dtype dtype) {
  auto cfg = UVit2DConfig::from(c);
  UVit2DModel model(cfg);
  model->eval();
  model->to(device, dtype);
  const int B = rows(s), tok = side(s, kVqScale, "aMUSEd"), L = s.text_tokens > 0 ? s.text_tokens : 77;
  auto opts = torch::TensorOptions().dtype(dtype).device(device);
  auto ids =
      torch::randint(0, cfg.vocab_size, {B, tok, tok}, torch::TensorOptions().dtype(torch::kInt64).device(device));
  auto states = torch::randn({B, L, cfg.encoder_hidden_size}, opts);
  auto pooled = torch::randn({B, cfg.cond_embed_dim}, opts);
  const auto px = static_cast<float>(s.size);
  auto micro = torch::tensor({px, px, 0.f, 0.f, 6.f}).repeat({B, 1}).to(device, dtype);
  ArchBench b{"uvit2d", "UVit2DModel", count_parameters(*model), "tokens " + dims(ids) + ", text " + dims(states), {}};
  b.step = [model, ids, states, pooled, micro]() mutable { (void)model(ids, states, pooled, micro); };
  return b;
}

ArchBench t5_bench(const ConfigView& c, const ArchBenchShape& s, torch::Device device, torch::Dtype dtype) {
  auto cfg = T5Config::from(c);
  T5EncoderModel model(cfg, dtype, device);
  model->eval();
  const int B = rows(s), L = s.text_tokens > 0 ? s.text_tokens : 120;
  auto ids = torch::randint(0, cfg.vocab_size, {B, L}, torch::TensorOptions().dtype(torch::kInt64).device(device));
  auto mask = torch::ones({B, L}, torch::TensorOptions().dtype(torch::kInt64).device(device));
  ArchBench b{"t5", "T5EncoderModel", count_parameters(*model), "token ids " + dims(ids), {}};
  b.step = [model, ids, mask]() mutable { (void)model(ids, mask); };
  return b;
}

}  // namespace

std::string arch_config_path(const std::string& arch) {
  if (fs::is_regular_file(arch)) return arch;
  if (fs::is_directory(arch)) {
    if (fs::is_regular_file(fs::path(arch) / "config.json")) return (fs::path(arch) / "config.json").string();
    fail("--arch \"{}\": the folder has no config.json", arch);
  }
  for (const char* suffix : {"-unet.json", "-transformer.json", "-encoder.json"}) {
    auto p = find_resource("configs/archs/" + arch + suffix);
    if (!p.empty()) return p;
  }
  fail(
      "--arch \"{}\": not a config.json, a folder holding one, or a name under configs/archs/ "
      "(<name>-unet.json, <name>-transformer.json, <name>-encoder.json)",
      arch);
}

ArchBench make_arch_bench(const std::string& config_path, const ArchBenchShape& shape, torch::Device device,
                          torch::Dtype dtype) {
  if (shape.batch < 1) fail("batch must be at least 1, got {}", shape.batch);
  const auto c = ConfigView::load(config_path);
  if (c.get_string("model_type", "") == "t5") return t5_bench(c, shape, device, dtype);
  if (!c.has("_class_name"))
    c.bad("_class_name", "missing: not a diffusers model config (nor a transformers T5 config with model_type \"t5\")");
  const auto cls = c.get_string("_class_name");
  if (cls == "UNet2DConditionModel") return unet_bench(c, shape, device, dtype);
  if (cls == "UVit2DModel") return uvit_bench(c, shape, device, dtype);
  if (cls == "PixArtTransformer2DModel" || cls == "Transformer2DModel") return pixart_bench(c, shape, device, dtype);
  c.bad("_class_name", "\"" + cls +
                           "\": bench builds UNet2DConditionModel, PixArtTransformer2DModel (or Transformer2DModel "
                           "with norm_type ada_norm_single), UVit2DModel and T5 encoders");
}

}  // namespace catimage
