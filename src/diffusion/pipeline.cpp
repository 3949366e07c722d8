#include "catimage/diffusion/pipeline.hpp"

#include <spdlog/spdlog.h>

#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>
#include <map>

#include "catimage/diffusion/batch_invariance.hpp"
#include "catimage/diffusion/loaders/lora.hpp"
#include "catimage/diffusion/loaders/model_source.hpp"
#include "catimage/io/weights.hpp"
#include "catimage/util/error.hpp"

namespace fs = std::filesystem;

namespace catimage {

std::string pipeline_folder_layout(bool sdxl) {
  return std::string(
             "a diffusers pipeline folder (model_index.json, text_encoder/, tokenizer/, unet/, vae/, scheduler/") +
         (sdxl ? ", text_encoder_2/, tokenizer_2/)" : ")");
}

std::string PipelineFolder::path(const std::string& component) const {
  return (fs::path(config_dir) / component).string();
}

namespace {

PipelineFolder inspect(const ModelSource& src, const std::string& vae_override) {
  const ModelIndex& mi = src.index();
  require_pipeline_class(mi, {kSdPipelineClass, kSdxlPipelineClass}, "a Stable Diffusion pipeline");
  PipelineFolder f;
  f.dir = src.model();
  f.config_dir = src.config_dir();
  f.pipeline_class = mi.pipeline_class;
  f.sdxl = f.pipeline_class == kSdxlPipelineClass;
  const json& j = mi.index;
  if (j.contains("force_zeros_for_empty_prompt") && j["force_zeros_for_empty_prompt"].is_boolean())
    f.force_zeros_for_empty_prompt = j["force_zeros_for_empty_prompt"].get<bool>();

  MissingFiles missing;
  // a single file's weights are its own (their keys are checked when it is opened); its configs are files
  auto component = [&](const std::string& c, const char* stem) {
    if (src.single_file())
      missing.file(src.config(c));
    else
      missing.weights(f.path(c), stem);
  };
  std::vector<std::string> encoders = {"text_encoder"}, tokenizers = {"tokenizer"};
  if (f.sdxl) encoders.push_back("text_encoder_2"), tokenizers.push_back("tokenizer_2");
  for (const auto& c : encoders) {
    if (j.contains(c) && j[c].is_array() && !j[c].empty() && j[c][0].is_null())
      fail(
          "{}: the pipeline has no {} (e.g. an SDXL refiner); only text-to-image pipelines with all their text "
          "encoders are supported",
          mi.file, c);
    component(c, "model");
  }
  for (const auto& t : tokenizers) {
    const fs::path bpe = src.tokenizer_files(t);  // the folder's own, or where a config set names them
    missing.file((bpe / "vocab.json").string());
    missing.file((bpe / "merges.txt").string());
  }
  component("unet", "diffusion_pytorch_model");
  std::error_code ec;
  if (vae_override.empty()) {
    component("vae", "diffusion_pytorch_model");
  } else if (fs::is_directory(vae_override, ec)) {
    missing.file((fs::path(vae_override) / "config.json").string());
    missing.weights_only(vae_override, "diffusion_pytorch_model");
  } else {
    missing.file(vae_override);
    // a .safetensors decoder without a config.json beside it takes the pipeline's VAE config
    if (!fs::is_regular_file(fs::path(vae_override).parent_path() / "config.json", ec)) missing.file(src.config("vae"));
  }
  missing.file(f.path("scheduler/scheduler_config.json"));
  missing.check(src.config_dir());
  return f;
}

}  // namespace

PipelineFolder inspect_pipeline_folder(const PipelineOptions& o) {
  return inspect(ModelSource::open(o, pipeline_folder_layout(false), "stabilityai/sd-turbo"), o.vae);
}

std::vector<std::string> pipeline_lora_components(const PipelineFolder& f) {
  if (f.sdxl) return {"text_encoder", "text_encoder_2", "unet"};
  return {"text_encoder", "unet"};
}

ClipTextModel load_clip_text_model(const std::string& config, const WeightSource& w) {
  auto cfg = ClipTextConfig::from(ConfigView::load(config));
  ClipTextModel m(cfg);
  LoadOptions lo;
  lo.ignored_prefixes = {"text_model.embeddings.position_ids"};
  load_weights(*m, w, lo);
  m->eval();
  return m;
}

ClipTextModel load_clip_text_model(const std::string& dir) {
  return load_clip_text_model((fs::path(dir) / "config.json").string(), WeightFiles::in_folder(dir, "model"));
}

UNet2DConditionModel load_unet(const std::string& config, const WeightSource& w) {
  auto cfg = UNetConfig::from(ConfigView::load(config));
  UNet2DConditionModel m(cfg);
  load_weights(*m, w);
  m->eval();
  return m;
}

UNet2DConditionModel load_unet(const std::string& dir) {
  return load_unet((fs::path(dir) / "config.json").string(), WeightFiles::in_folder(dir, "diffusion_pytorch_model"));
}

std::unique_ptr<Scheduler> load_scheduler(const std::string& dir, const std::string& override_name) {
  auto c = ConfigView::load((fs::path(dir) / "scheduler_config.json").string());
  return make_scheduler(override_name.empty() ? c.get_string("_class_name") : override_name, c);
}

namespace {

void to_channels_last(torch::nn::Module& m) {
  torch::NoGradGuard ng;
  for (auto& p : m.parameters())
    if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
}

}  // namespace

DiffusionPipeline::DiffusionPipeline(const PipelineOptions& o) {
  const ModelSource src = ModelSource::open(o, pipeline_folder_layout(false), "stabilityai/sd-turbo");
  folder_ = inspect(src, o.vae);
  device_ = resolve_device(o.device);
  dtype_ = resolve_dtype(o.dtype, device_);
  channels_last_ = o.channels_last && device_.is_cuda();
  torch::NoGradGuard ng;
  tokenizers_.push_back(ClipTokenizer::from_folder(folder_.path("tokenizer"), src.tokenizer_files("tokenizer")));
  encoders_.push_back(load_clip_text_model(src.config("text_encoder"), *src.weights("text_encoder", "model")));
  if (folder_.sdxl) {
    tokenizers_.push_back(ClipTokenizer::from_folder(folder_.path("tokenizer_2"), src.tokenizer_files("tokenizer_2")));
    encoders_.push_back(load_clip_text_model(src.config("text_encoder_2"), *src.weights("text_encoder_2", "model")));
    if (!encoders_[1]->cfg.with_projection)
      fail("{}: SDXL's second text encoder must be a CLIPTextModelWithProjection", folder_.path("text_encoder_2"));
    pooled_dim_ = encoders_[1]->cfg.projection_dim;
  }
  unet_ = load_unet(src.config("unet"), *src.weights("unet", "diffusion_pytorch_model"));
  const auto& uc = unet_->cfg;
  std::int64_t ctx_dim = 0;
  for (const auto& e : encoders_) ctx_dim += e->cfg.hidden_size;
  if (uc.cross_attention_dim() != ctx_dim)
    fail("{}: the UNet expects text states of width {}, the text encoder(s) give {}", folder_.dir,
         uc.cross_attention_dim(), ctx_dim);
  if (folder_.sdxl) {
    if (!uc.text_time) fail("{}: an SDXL pipeline needs a UNet with addition_embed_type \"text_time\"", folder_.dir);
    if (uc.projection_class_embeddings_input_dim != 6 * uc.addition_time_embed_dim + pooled_dim_)
      fail(
          "{}: the UNet's projection_class_embeddings_input_dim {} is not 6 x addition_time_embed_dim + the pooled "
          "projection width ({})",
          folder_.dir, uc.projection_class_embeddings_input_dim, 6 * uc.addition_time_embed_dim + pooled_dim_);
  } else if (uc.text_time) {
    fail("{}: this UNet needs SDXL conditioning; model_index.json should name StableDiffusionXLPipeline", folder_.dir);
  }
  const auto [vae_config, vae_weights] = src.vae(o.vae);
  decoder_ = load_latent_decoder(vae_config, *vae_weights);
  if (decoder_->latent_channels() != uc.in_channels)
    fail("the decoder has {} latent channels, the UNet {}", decoder_->latent_channels(), uc.in_channels);
  scheduler_ = load_scheduler(folder_.path("scheduler"), o.scheduler);

  // LoRAs merge into the fp32 weights as loaded, before the cast to the run dtype.
  std::map<std::string, torch::nn::Module*> components = {{"unet", unet_.ptr().get()},
                                                          {"text_encoder", encoders_[0].ptr().get()}};
  if (folder_.sdxl) components["text_encoder_2"] = encoders_[1].ptr().get();
  if (!o.loras.empty()) {
    const LdmUNetNames ldm(uc);  // kohya files may name the UNet's modules by the original blocks
    merge_loras(o.loras, components, folder_.pipeline_class, &ldm);
  }

  for (auto& e : encoders_) e->to(device_, dtype_);
  unet_->to(device_, dtype_);
  // As diffusers: the SDXL pipeline decodes in fp32 when the VAE's config says force_upcast
  // (SDXL's VAE overflows in fp16); the SD pipeline decodes in the pipeline's dtype. On the CPU
  // the VAE always decodes in fp32 (bf16 there is for the UNet and the text encoders).
  decoder_dtype_ = (dtype_ == torch::kFloat16 && folder_.sdxl && decoder_->needs_fp32()) || device_.is_cpu()
                       ? torch::kFloat32
                       : dtype_;
  decoder_->to(device_, decoder_dtype_);
  if (channels_last_) to_channels_last(*unet_);
}

int DiffusionPipeline::default_size() const {
  return static_cast<int>(unet_->cfg.sample_size) * decoder_->spatial_factor();
}

std::string DiffusionPipeline::describe() const {
  const std::string model =
      folder_.dir == folder_.config_dir ? folder_.dir : folder_.dir + " (configs: " + folder_.config_dir + ")";
  return fmt::format("{} ({}), {} on {} {}, decoder {}", model, folder_.pipeline_class, scheduler_->class_name(),
                     device_.str(), dtype_label(dtype_), decoder_->kind());
}

std::pair<torch::Tensor, torch::Tensor> DiffusionPipeline::encode_prompts(const std::vector<std::string>& prompts,
                                                                          const std::vector<bool>& zero) {
  torch::NoGradGuard ng;
  const auto B = static_cast<std::int64_t>(prompts.size());
  std::vector<torch::Tensor> parts;
  torch::Tensor pooled;
  for (std::size_t e = 0; e < encoders_.size(); ++e) {
    const auto& tok = tokenizers_[e];
    std::vector<std::int64_t> ids;
    for (const auto& p : prompts) {
      auto v = tok.encode_padded(p);
      ids.insert(ids.end(), v.begin(), v.end());
    }
    auto t = torch::tensor(ids, torch::TensorOptions().dtype(torch::kInt64)).view({B, tok.max_length()}).to(device_);
    auto out = encoders_[e](t);
    parts.push_back(folder_.sdxl ? out.penultimate : out.last_hidden_state);
    if (folder_.sdxl && e == 1) pooled = out.text_embeds;
  }
  auto ctx = parts.size() == 1 ? parts[0] : torch::cat(parts, -1);
  if (!zero.empty()) {
    auto mask =
        torch::tensor(std::vector<std::uint8_t>(zero.begin(), zero.end()), torch::kUInt8).to(torch::kBool).to(device_);
    ctx = ctx.masked_fill(mask.view({B, 1, 1}), 0);
    if (pooled.defined()) pooled = pooled.masked_fill(mask.view({B, 1}), 0);
  }
  return {ctx, pooled};
}

torch::Tensor DiffusionPipeline::unet_forward(const torch::Tensor& x, double t, const torch::Tensor& ctx,
                                              const torch::Tensor& pooled, const torch::Tensor& time_ids) {
  auto in = x.to(dtype_);
  if (channels_last_) in = in.contiguous(torch::MemoryFormat::ChannelsLast);
  auto ts = torch::full({1}, t, torch::TensorOptions().dtype(torch::kFloat32).device(device_));
  return unet_(in, ts, ctx, pooled, time_ids);
}

torch::Tensor DiffusionPipeline::generate_latents(const std::vector<ImageRequest>& batch,
                                                  const GenerationSettings& s0) {
  torch::NoGradGuard ng;
  if (batch.empty()) fail("nothing to generate");
  if (batch.size() > 1 && runs_requests_alone(device_))  // batch 1's numbers (diffusion/batch_invariance)
    return each_request_alone(batch, [&](const std::vector<ImageRequest>& one) { return generate_latents(one, s0); });
  GenerationSettings s = s0;
  if (s.steps < 1) fail("steps must be at least 1, got {}", s.steps);
  if (s.width <= 0) s.width = default_size();
  if (s.height <= 0) s.height = default_size();
  const int f = decoder_->spatial_factor();
  if (s.width % f != 0 || s.height % f != 0)
    fail("width and height must be multiples of {} for this model, got {}x{}", f, s.width, s.height);
  const auto B = static_cast<std::int64_t>(batch.size());
  const bool cfg = s.guidance > 1.0;

  std::vector<std::string> prompts, negatives;
  std::vector<bool> zero_negative;
  for (const auto& r : batch) {
    prompts.push_back(r.prompt);
    negatives.push_back(r.negative_prompt);
    // SDXL: an absent negative prompt is a zero embedding (force_zeros_for_empty_prompt)
    zero_negative.push_back(folder_.sdxl && folder_.force_zeros_for_empty_prompt && r.negative_prompt.empty());
  }
  for (const auto& tok : tokenizers_)
    for (const auto& p : prompts)
      if (tok.truncates(p))
        spdlog::warn("prompt longer than {} tokens is cut to fit: \"{}\"", tok.max_length() - 2, p.substr(0, 60));
  auto [ctx, pooled] = encode_prompts(prompts);
  torch::Tensor time_ids;
  if (folder_.sdxl) {
    std::vector<float> ids;
    for (std::int64_t b = 0; b < B; ++b)
      for (float v : {float(s.height), float(s.width), 0.f, 0.f, float(s.height), float(s.width)}) ids.push_back(v);
    time_ids = torch::tensor(ids).view({B, 6}).to(device_, dtype_);
  }
  if (cfg) {
    auto [nctx, npooled] = encode_prompts(negatives, zero_negative);
    ctx = torch::cat({nctx, ctx});
    if (pooled.defined()) pooled = torch::cat({npooled, pooled});
    if (time_ids.defined()) time_ids = torch::cat({time_ids, time_ids});
  }

  scheduler_->set_timesteps(s.steps);
  const std::int64_t C = unet_->cfg.in_channels, h = s.height / f, w = s.width / f;
  std::vector<at::Generator> gens;
  std::vector<torch::Tensor> init;
  for (const auto& r : batch) {
    gens.push_back(at::detail::createCPUGenerator(r.seed));
    init.push_back(torch::randn({1, C, h, w}, gens.back(), torch::TensorOptions().dtype(torch::kFloat32)));
  }
  auto x = (torch::cat(init) * scheduler_->init_noise_sigma()).to(device_);
  NoiseSource noise = [&]() {
    std::vector<torch::Tensor> n;
    for (auto& g : gens) n.push_back(torch::randn({1, C, h, w}, g, torch::TensorOptions().dtype(torch::kFloat32)));
    return torch::cat(n).to(device_);
  };
  const auto& ts = scheduler_->timesteps();
  for (std::size_t i = 0; i < ts.size(); ++i) {
    auto in = cfg ? torch::cat({x, x}) : x;
    in = scheduler_->scale_model_input(in, i);
    auto eps = unet_forward(in, ts[i], ctx, pooled, time_ids).to(torch::kFloat32);
    if (cfg) {
      auto parts = eps.chunk(2);
      eps = parts[0] + s.guidance * (parts[1] - parts[0]);
    }
    x = scheduler_->step(eps, i, x, noise);
  }
  return x;
}

torch::Tensor DiffusionPipeline::decode(const torch::Tensor& latents) {
  torch::NoGradGuard ng;
  auto img = decoder_->decode(latents.to(device_, decoder_dtype_)).to(torch::kFloat32);
  return (img / 2 + 0.5).clamp(0, 1);
}

torch::Tensor DiffusionPipeline::to_uint8(const torch::Tensor& images01) {
  return (images01 * 255).round().to(torch::kUInt8).permute({0, 2, 3, 1}).contiguous().to(torch::kCPU);
}

torch::Tensor DiffusionPipeline::generate(const std::vector<ImageRequest>& batch, const GenerationSettings& s) {
  if (batch.size() > 1 && runs_requests_alone(device_))  // the decoder too gets batch 1's numbers
    return each_request_alone(batch, [&](const std::vector<ImageRequest>& one) { return generate(one, s); });
  return to_uint8(decode(generate_latents(batch, s)));
}

}  // namespace catimage
