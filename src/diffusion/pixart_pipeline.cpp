#include "catimage/diffusion/pixart_pipeline.hpp"

#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <ATen/CPUGeneratorImpl.h>

#include <clocale>
#include <cwctype>
#include <filesystem>

#include "catimage/diffusion/batch_invariance.hpp"
#include "catimage/diffusion/device.hpp"
#include "catimage/diffusion/loaders/model_source.hpp"
#include "catimage/diffusion/model_folder.hpp"
#include "catimage/diffusion/pixart_aspect_ratios.hpp"
#include "catimage/diffusion/schedulers/registry.hpp"
#include "catimage/diffusion/schedulers/sampler_names.hpp"
#include "catimage/io/config_view.hpp"
#include "catimage/io/json_file.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/strings.hpp"
#include "catimage/util/utf8.hpp"

#include <locale.h>

namespace fs = std::filesystem;

namespace catimage {

namespace {

// diffusers writes its configs with Python's json, which spells infinities and NaN as
// -Infinity, Infinity and NaN (PixArt's scheduler_config.json has "lambda_min_clipped":
// -Infinity); strict JSON has no such literals. Outside strings they become the largest
// doubles (as good as infinite for every key that holds them) and null.
ConfigView load_python_json_config(const std::string& path) {
  const std::string text = read_file(path);
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) {
        out += text[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    auto at = [&](const char* word) { return text.compare(i, std::char_traits<char>::length(word), word) == 0; };
    if (c == '"') {
      in_string = true;
      out += c;
    } else if (at("-Infinity")) {
      out += "-1.7976931348623157e308";
      i += 8;
    } else if (at("Infinity")) {
      out += "1.7976931348623157e308";
      i += 7;
    } else if (at("NaN")) {
      out += "null";
      i += 2;
    } else {
      out += c;
    }
  }
  return ConfigView(parse_json(out, path), path);
}

// Python's str.isspace: Unicode white space plus the ASCII separators 0x1C-0x1F.
bool py_space(char32_t c) {
  if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
  if (c == 0x85 || c == 0xA0) return true;
  auto l = utf8_locale();
  return l && iswspace_l(static_cast<wint_t>(c), l);
}

char32_t py_lower(char32_t c) { return c >= 0xDC80 && c <= 0xDCFF ? c : lower_code_point(c); }

}  // namespace

std::string pixart_preprocess_caption(const std::string& text) {
  auto u = decode_utf8(text, Utf8Errors::escape);
  std::size_t a = 0, b = u.size();
  while (a < b && py_space(u[a])) ++a;
  while (b > a && py_space(u[b - 1])) --b;
  std::u32string out;
  for (std::size_t i = a; i < b; ++i) out += py_lower(u[i]);
  return encode_utf8(out, Utf8Errors::escape);
}

std::string PixArtFolder::path(const std::string& component) const { return (fs::path(dir) / component).string(); }

std::string pixart_folder_layout() {
  return "a diffusers PixArt folder (model_index.json naming PixArtAlphaPipeline or PixArtSigmaPipeline, "
         "text_encoder/, tokenizer/spiece.model, transformer/, vae/, scheduler/)";
}

const std::vector<std::string>& pixart_pipeline_classes() {
  static const std::vector<std::string> classes = {"PixArtAlphaPipeline", "PixArtSigmaPipeline"};
  return classes;
}

PixArtFolder inspect_pixart_folder(const std::string& dir) {
  ModelSource::require_folder(dir, "family pixart");
  PipelineOptions o;
  o.folder = dir;
  const ModelSource src = ModelSource::open(o, pixart_folder_layout(), "PixArt-alpha/PixArt-XL-2-512x512");
  const ModelIndex& mi = src.index();
  require_pipeline_class(mi, pixart_pipeline_classes(), "a PixArt pipeline");
  PixArtFolder f;
  f.dir = dir;
  f.pipeline_class = mi.pipeline_class;
  if (f.pipeline_class == "PixArtSigmaPipeline") f.max_sequence_length = 300;

  MissingFiles missing;
  missing.weights(f.path("text_encoder"), "model");
  missing.file(f.path("tokenizer/spiece.model"));
  missing.weights(f.path("transformer"), "diffusion_pytorch_model");
  missing.weights(f.path("vae"), "diffusion_pytorch_model");
  missing.file(f.path("scheduler/scheduler_config.json"));
  missing.check(dir);

  // Every config, before any weights: unsupported keys and mismatched components fail here.
  T5Tokenizer::from_folder(f.path("tokenizer"));  // spiece.model readable, tokenizer_config.json supported
  const auto t5 = T5Config::load(f.path("text_encoder/config.json"));
  const auto tcfg_path = f.path("transformer/config.json");
  const auto tc = PixArtTransformerConfig::load(tcfg_path);
  if (tc.text_dim() != t5.d_model)
    fail("{}: the transformer takes text states of width {} ({}), the text encoder gives {} ({})", dir, tc.text_dim(),
         tcfg_path, t5.d_model, f.path("text_encoder/config.json"));
  const auto vae_path = f.path("vae/config.json");
  const auto vae = ConfigView::load(vae_path);
  if (vae.get_string("_class_name", "") != "AutoencoderKL")
    vae.bad("_class_name", "the PixArt pipeline decodes with an AutoencoderKL");
  const int latent_channels = vae.get_int("latent_channels", 4);
  if (tc.in_channels != latent_channels)
    fail("{}: the transformer has {} input channels, the VAE ({}) {} latent channels", tcfg_path, tc.in_channels,
         vae_path, latent_channels);
  if (tc.out_channels != tc.in_channels && tc.out_channels != 2 * tc.in_channels)
    fail("{}: out_channels {} is neither in_channels nor 2 x in_channels (learned sigma)", tcfg_path, tc.out_channels);
  const auto sched_path = f.path("scheduler/scheduler_config.json");
  const auto sc = load_python_json_config(sched_path);
  f.scheduler_class = sc.get_string("_class_name");
  make_scheduler(f.scheduler_class, sc);  // refuses unsupported classes and values, naming the key
  return f;
}

PixArtFolder check_pixart_options(const PipelineOptions& o) {
  if (!o.vae.empty())
    fail("--vae / \"vae\" {}: family pixart has no decoder override (it decodes with its own vae/)", o.vae);
  if (o.channels_last) fail("--channels-last is not implemented for family pixart (a transformer, not a UNet)");
  if (!o.loras.empty())
    fail("--lora / \"lora\" {}: family pixart takes no LoRAs (the UNet families sd15, sd21, sdxl do)", o.loras[0].file);
  auto folder = inspect_pixart_folder(o.folder);
  if (!o.scheduler.empty()) {  // the folder's own sampler, with a sigma schedule or without
    const auto choice = parse_sampler(o.scheduler);
    if (choice.scheduler->class_name != folder.scheduler_class)
      fail(
          "--scheduler / \"scheduler\" {}: family pixart runs its folder's own scheduler ({}); other schedulers "
          "are not implemented for it",
          o.scheduler, folder.scheduler_class);
    make_scheduler(o.scheduler, load_python_json_config(folder.path("scheduler/scheduler_config.json")));
  }
  return folder;
}

PixArtPipeline::PixArtPipeline(const PipelineOptions& o) {
  folder_ = check_pixart_options(o);
  device_ = resolve_device(o.device);
  dtype_ = resolve_dtype(o.dtype, device_);
  torch::NoGradGuard ng;
  tokenizer_ = std::make_unique<T5Tokenizer>(T5Tokenizer::from_folder(folder_.path("tokenizer")));
  text_encoder_ = load_t5_encoder(folder_.path("text_encoder"), dtype_, device_);
  transformer_ = load_pixart_transformer(folder_.path("transformer"));
  decoder_ = load_latent_decoder(folder_.path("vae"));
  scheduler_ = make_scheduler(o.scheduler.empty() ? folder_.scheduler_class : o.scheduler,
                              load_python_json_config(folder_.path("scheduler/scheduler_config.json")));
  transformer_->to(device_, dtype_);
  // diffusers decodes in the VAE's dtype; under fp16 this decodes in fp32 where the VAE config
  // says force_upcast (PixArt-Σ's SDXL VAE overflows in fp16). On the CPU the VAE always decodes
  // in fp32 (bf16 there is for the transformer and T5).
  decoder_dtype_ = (dtype_ == torch::kFloat16 && decoder_->needs_fp32()) || device_.is_cpu() ? torch::kFloat32 : dtype_;
  decoder_->to(device_, decoder_dtype_);
}

int PixArtPipeline::default_size() const {
  return static_cast<int>(transformer_->cfg.sample_size) * decoder_->spatial_factor();
}

std::string PixArtPipeline::describe() const {
  return fmt::format("{} ({}), {} on {} {}, T5 up to {} tokens", folder_.dir, folder_.pipeline_class,
                     scheduler_->class_name(), device_.str(), dtype_label(dtype_), folder_.max_sequence_length);
}

PixArtTextEmbeddings PixArtPipeline::encode_prompts(const std::vector<std::string>& prompts) {
  torch::NoGradGuard ng;
  std::vector<std::string> texts;
  for (const auto& p : prompts) {
    texts.push_back(pixart_preprocess_caption(p));
    if (tokenizer_->truncates(texts.back(), folder_.max_sequence_length))
      spdlog::warn("prompt longer than {} T5 tokens is cut to fit: \"{}\"", folder_.max_sequence_length, excerpt(p));
  }
  auto tok = tokenizer_->encode(texts, folder_.max_sequence_length);
  PixArtTextEmbeddings e;
  e.mask = tok.attention_mask.to(device_);
  e.embeds = text_encoder_(tok.input_ids.to(device_), e.mask).to(dtype_);
  return e;
}

std::pair<int, int> PixArtPipeline::generation_size(int height, int width) const {
  auto binned = binning_ ? pixart_binned_size(transformer_->cfg.sample_size, height, width) : std::nullopt;
  return binned ? *binned : std::make_pair(height, width);
}

GenerationSettings PixArtPipeline::resolve(const GenerationSettings& s0) const {
  GenerationSettings s = s0;
  if (s.steps < 1) fail("steps must be at least 1, got {}", s.steps);
  if (s.width <= 0) s.width = default_size();
  if (s.height <= 0) s.height = default_size();
  return s;
}

torch::Tensor PixArtPipeline::generate_latents_from_embeddings(const PixArtTextEmbeddings& pos,
                                                               const PixArtTextEmbeddings& neg,
                                                               const std::vector<std::uint64_t>& seeds,
                                                               const GenerationSettings& s0) {
  torch::NoGradGuard ng;
  const auto s = resolve(s0);
  const auto B = static_cast<std::int64_t>(seeds.size());
  if (B == 0) fail("nothing to generate");
  const bool cfg = s.guidance > 1.0;
  auto check = [&](const PixArtTextEmbeddings& e, const char* what) {
    if (!e.embeds.defined() || !e.mask.defined() || e.embeds.dim() != 3 || e.embeds.size(0) != B || e.mask.dim() != 2 ||
        e.mask.size(0) != B || e.mask.size(1) != e.embeds.size(1))
      fail("PixArt pipeline: the {} text states must be ({}, L, D) with a ({}, L) mask", what, B, B);
  };
  check(pos, "prompt");
  if (cfg) check(neg, "negative prompt");
  const auto& tc = transformer_->cfg;
  const auto [height, width] = generation_size(s.height, s.width);
  const int f = decoder_->spatial_factor();
  const int multiple = f * static_cast<int>(tc.patch_size);
  if (height % multiple != 0 || width % multiple != 0)
    fail("width and height must be multiples of {} for this model, got {}x{}", multiple, width, height);

  auto ctx = pos.embeds.to(device_, dtype_);
  auto mask = pos.mask.to(device_);
  if (cfg) {
    ctx = torch::cat({neg.embeds.to(device_, dtype_), ctx});
    mask = torch::cat({neg.mask.to(device_), mask});
  }
  PixArtMicroConditions micro;
  if (tc.use_additional_conditions) {
    const auto rows = ctx.size(0);
    auto opts = torch::TensorOptions().dtype(torch::kFloat32);
    micro.resolution = torch::tensor({static_cast<float>(height), static_cast<float>(width)}, opts)
                           .repeat({rows, 1})
                           .to(device_, dtype_);
    micro.aspect_ratio = torch::full({rows, 1}, static_cast<double>(height) / width, opts).to(device_, dtype_);
  }

  scheduler_->set_timesteps(s.steps);
  const std::int64_t C = tc.in_channels, h = height / f, w = width / f;
  std::vector<at::Generator> gens;
  std::vector<torch::Tensor> init;
  for (auto seed : seeds) {
    gens.push_back(at::detail::createCPUGenerator(seed));
    init.push_back(torch::randn({1, C, h, w}, gens.back(), torch::TensorOptions().dtype(torch::kFloat32)));
  }
  auto x = (torch::cat(init) * scheduler_->init_noise_sigma()).to(device_);
  NoiseSource noise = [&]() {
    std::vector<torch::Tensor> n;
    for (auto& g : gens) n.push_back(torch::randn({1, C, h, w}, g, torch::TensorOptions().dtype(torch::kFloat32)));
    return torch::cat(n).to(device_);
  };
  const bool learned_sigma = tc.out_channels == 2 * C;
  const auto& ts = scheduler_->timesteps();
  for (std::size_t i = 0; i < ts.size(); ++i) {
    auto in = cfg ? torch::cat({x, x}) : x;
    in = scheduler_->scale_model_input(in, i);
    auto t = torch::full({in.size(0)}, ts[i], torch::TensorOptions().dtype(torch::kFloat32).device(device_));
    auto out = transformer_(in.to(dtype_), t, ctx, mask, micro).to(torch::kFloat32);
    if (cfg) {
      auto parts = out.chunk(2);
      out = parts[0] + s.guidance * (parts[1] - parts[0]);
    }
    if (learned_sigma) out = out.narrow(1, 0, C);
    x = scheduler_->step(out, i, x, noise);
  }
  return x;
}

torch::Tensor PixArtPipeline::decode(const torch::Tensor& latents, int height, int width) {
  torch::NoGradGuard ng;
  auto img = decoder_->decode(latents.to(device_, decoder_dtype_)).to(torch::kFloat32);
  if (height > 0 && width > 0) img = pixart_resize_and_crop(img, height, width);
  return (img / 2 + 0.5).clamp(0, 1);
}

torch::Tensor PixArtPipeline::generate_from_embeddings(const PixArtTextEmbeddings& positive,
                                                       const PixArtTextEmbeddings& negative,
                                                       const std::vector<std::uint64_t>& seeds,
                                                       const GenerationSettings& s0) {
  const auto s = resolve(s0);
  auto images = decode(generate_latents_from_embeddings(positive, negative, seeds, s), s.height, s.width);
  return (images * 255).round().to(torch::kUInt8).permute({0, 2, 3, 1}).contiguous().to(torch::kCPU);
}

torch::Tensor PixArtPipeline::generate(const std::vector<ImageRequest>& batch, const GenerationSettings& s) {
  if (batch.empty()) fail("nothing to generate");
  if (batch.size() > 1 && runs_requests_alone(device_))  // batch 1's numbers (diffusion/batch_invariance)
    return each_request_alone(batch, [&](const std::vector<ImageRequest>& one) { return generate(one, s); });
  std::vector<std::string> prompts, negatives;
  std::vector<std::uint64_t> seeds;
  for (const auto& r : batch) {
    prompts.push_back(r.prompt);
    negatives.push_back(r.negative_prompt);
    seeds.push_back(r.seed);
  }
  auto pos = encode_prompts(prompts);
  PixArtTextEmbeddings neg;
  if (s.guidance > 1.0) neg = encode_prompts(negatives);
  return generate_from_embeddings(pos, neg, seeds, s);
}

std::unique_ptr<ImagePipeline> make_pixart_pipeline(const PipelineOptions& opt) {
  return std::make_unique<PixArtPipeline>(opt);
}

}  // namespace catimage
