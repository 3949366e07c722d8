#include "catimage/diffusion/amused_pipeline.hpp"

#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>

#include "catimage/diffusion/batch_invariance.hpp"
#include "catimage/diffusion/device.hpp"
#include "catimage/diffusion/loaders/model_source.hpp"
#include "catimage/diffusion/model_folder.hpp"
#include "catimage/diffusion/pipeline.hpp"
#include "catimage/util/error.hpp"
#include "schedulers/amused.hpp"

namespace fs = std::filesystem;

namespace catimage {

namespace {

constexpr std::int64_t kMicroConds = 5;  // width, height, crop top, crop left, aesthetic score

std::string path(const std::string& dir, const std::string& component, const std::string& file = "") {
  auto p = fs::path(dir) / component;
  return (file.empty() ? p : p / file).string();
}

struct AmusedConfigs {
  ClipTextConfig text_encoder;
  UVit2DConfig transformer;
  VQModelConfig vqvae;
  std::int64_t mask_token_id = 0;
};

// Every component's config, parsed (unsupported values refused) and checked against the others.
AmusedConfigs read_configs(const std::string& dir) {
  AmusedConfigs c;
  const auto te_file = path(dir, "text_encoder", "config.json");
  const auto tr_file = path(dir, "transformer", "config.json");
  const auto vq_file = path(dir, "vqvae", "config.json");
  const auto te = ConfigView::load(te_file), tr = ConfigView::load(tr_file), vq = ConfigView::load(vq_file);
  const auto sc = ConfigView::load(path(dir, "scheduler", "scheduler_config.json"));
  c.text_encoder = ClipTextConfig::from(te);
  c.transformer = UVit2DConfig::from(tr);
  c.vqvae = VQModelConfig::from(vq);
  const auto cls = sc.get_string("_class_name", AmusedScheduler::kClassName);
  if (cls != AmusedScheduler::kClassName)
    sc.bad("_class_name", "\"" + cls + "\": an AmusedPipeline runs with the AmusedScheduler");
  c.mask_token_id = AmusedScheduler(sc).mask_token_id();

  const auto& t = c.transformer;
  if (!c.text_encoder.with_projection)
    te.bad("architectures", "an AmusedPipeline needs a CLIPTextModelWithProjection (the pooled projection)");
  if (c.text_encoder.hidden_size != t.encoder_hidden_size)
    tr.bad("encoder_hidden_size", fmt::format("{} does not match the text encoder's hidden_size {}",
                                              t.encoder_hidden_size, c.text_encoder.hidden_size));
  if (c.text_encoder.projection_dim != t.cond_embed_dim)
    tr.bad("cond_embed_dim", fmt::format("{} does not match the text encoder's projection_dim {}", t.cond_embed_dim,
                                         c.text_encoder.projection_dim));
  if (t.micro_conds() != kMicroConds)
    tr.bad("micro_cond_embed_dim",
           fmt::format("must be {} x micro_cond_encode_dim (width, height, crop top, crop left, aesthetic score)",
                       kMicroConds));
  if (c.mask_token_id >= t.vocab_size)
    sc.bad("mask_token_id",
           fmt::format("{} is outside the transformer's vocab_size {}", c.mask_token_id, t.vocab_size));
  if (!c.vqvae.lookup_from_codebook)
    vq.bad("lookup_from_codebook", "must be true: the pipeline decodes token ids through the codebook");
  if (t.codebook_size > c.vqvae.num_vq_embeddings)
    tr.bad("codebook_size", fmt::format("{} tokens, but the VQ codebook (num_vq_embeddings) has {}", t.codebook_size,
                                        c.vqvae.num_vq_embeddings));
  return c;
}

at::Generator cpu_generator(std::uint64_t seed) { return at::detail::createCPUGenerator(seed); }

}  // namespace

std::string amused_folder_layout() {
  return "a diffusers AmusedPipeline folder (model_index.json, text_encoder/, tokenizer/, transformer/, vqvae/, "
         "scheduler/)";
}

void inspect_amused_folder(const std::string& dir) {
  ModelSource::require_folder(dir, "family amused");
  PipelineOptions o;
  o.folder = dir;
  const ModelSource src = ModelSource::open(o, amused_folder_layout(), "amused/amused-256");
  const ModelIndex& mi = src.index();
  require_pipeline_class(mi, {kAmusedPipelineClass}, "an aMUSEd pipeline");
  MissingFiles missing;
  missing.weights(path(dir, "text_encoder"), "model");
  missing.file(path(dir, "tokenizer", "vocab.json"));
  missing.file(path(dir, "tokenizer", "merges.txt"));
  missing.weights(path(dir, "transformer"), "diffusion_pytorch_model");
  missing.weights(path(dir, "vqvae"), "diffusion_pytorch_model");
  missing.file(path(dir, "scheduler", "scheduler_config.json"));
  missing.check(dir);
  read_configs(dir);
}

void check_amused_options(const PipelineOptions& o) {
  if (!o.vae.empty())
    fail("--vae / \"vae\" {}: family amused has no decoder override (it decodes with its own VQ-GAN, vqvae/)", o.vae);
  if (!o.scheduler.empty() && o.scheduler != "amused" && o.scheduler != AmusedScheduler::kClassName)
    fail("--scheduler / \"scheduler\" {}: family amused runs its own sampler, AmusedScheduler (\"amused\")",
         o.scheduler);
  if (o.channels_last) fail("--channels-last is not implemented for family amused (a transformer, not a UNet)");
  if (!o.loras.empty())
    fail("--lora / \"lora\" {}: family amused takes no LoRAs (the UNet families sd15, sd21, sdxl do)", o.loras[0].file);
  inspect_amused_folder(o.folder);
}

namespace {
std::string checked_folder(const PipelineOptions& o) {
  check_amused_options(o);
  return o.folder;
}
}  // namespace

AmusedPipeline::AmusedPipeline(const PipelineOptions& o)
    : dir_(checked_folder(o)), tokenizer_(ClipTokenizer::from_folder(path(dir_, "tokenizer"))) {
  device_ = resolve_device(o.device);
  dtype_ = resolve_dtype(o.dtype, device_, kCpuBf16);
  torch::NoGradGuard ng;
  text_encoder_ = load_clip_text_model(path(dir_, "text_encoder"));
  transformer_ = load_uvit_2d(path(dir_, "transformer"));
  vqvae_ = load_vq_model(path(dir_, "vqvae"));
  scheduler_ = std::make_unique<AmusedScheduler>(ConfigView::load(path(dir_, "scheduler", "scheduler_config.json")));
  text_encoder_->to(device_, dtype_);
  transformer_->to(device_, dtype_);
  // As diffusers: decode in fp32 under fp16 when the VQ-GAN's config says force_upcast; on the
  // CPU always in fp32 (bf16 there is for the transformer and text encoder).
  vq_dtype_ = (dtype_ == torch::kFloat16 && vqvae_->cfg.force_upcast) || device_.is_cpu() ? torch::kFloat32 : dtype_;
  vqvae_->to(device_, vq_dtype_);
}

AmusedPipeline::~AmusedPipeline() = default;

int AmusedPipeline::default_size() const {
  return static_cast<int>(transformer_->cfg.sample_size) * vqvae_->cfg.spatial_factor();
}

std::string AmusedPipeline::sampler_label() const { return scheduler_->sampler_label(); }

std::string AmusedPipeline::scheduler_class() const { return AmusedScheduler::kClassName; }

std::string AmusedPipeline::describe() const {
  return fmt::format("{} ({}), {} on {} {}", dir_, kAmusedPipelineClass, AmusedScheduler::kClassName, device_.str(),
                     dtype_label(dtype_));
}

std::pair<torch::Tensor, torch::Tensor> AmusedPipeline::encode_prompts(const std::vector<std::string>& prompts) {
  torch::NoGradGuard ng;
  const auto B = static_cast<std::int64_t>(prompts.size());
  std::vector<std::int64_t> ids;
  for (const auto& p : prompts) {
    auto v = tokenizer_.encode_padded(p);
    ids.insert(ids.end(), v.begin(), v.end());
  }
  auto t = torch::tensor(ids, torch::kInt64).view({B, tokenizer_.max_length()}).to(device_);
  auto out = text_encoder_(t);
  return {out.penultimate, out.text_embeds};
}

torch::Tensor AmusedPipeline::generate_tokens(const std::vector<ImageRequest>& batch, const GenerationSettings& s0) {
  torch::NoGradGuard ng;
  if (batch.empty()) fail("nothing to generate");
  GenerationSettings s = s0;
  if (s.steps < 1) fail("steps must be at least 1, got {}", s.steps);
  if (s.width <= 0) s.width = default_size();
  if (s.height <= 0) s.height = default_size();
  const int f = spatial_factor();
  if (s.width % f != 0 || s.height % f != 0)
    fail("width and height must be multiples of {} for this model, got {}x{}", f, s.width, s.height);
  const std::int64_t h = s.height / f, w = s.width / f;
  if (transformer_->cfg.downsample && (h % 2 != 0 || w % 2 != 0))
    fail("width and height must be multiples of {} for this model (its transformer halves the token grid), got {}x{}",
         2 * f, s.width, s.height);
  const auto B = static_cast<std::int64_t>(batch.size());
  const bool cfg = s.guidance > 1.0;

  std::vector<std::string> prompts, negatives;
  for (const auto& r : batch) {
    prompts.push_back(r.prompt);
    negatives.push_back(r.negative_prompt);
    if (tokenizer_.truncates(r.prompt))
      spdlog::warn("prompt longer than {} tokens is cut to fit: \"{}\"", tokenizer_.max_length() - 2,
                   r.prompt.substr(0, 60));
  }
  auto [states, pooled] = encode_prompts(prompts);
  if (cfg) {
    auto [nstates, npooled] = encode_prompts(negatives);
    states = torch::cat({nstates, states});
    pooled = torch::cat({npooled, pooled});
  }
  const auto rows = cfg ? 2 * B : B;
  auto micro = torch::tensor({static_cast<float>(s.width), static_cast<float>(s.height), static_cast<float>(crop_top),
                              static_cast<float>(crop_left), static_cast<float>(aesthetic_score)})
                   .to(device_, states.scalar_type())
                   .unsqueeze(0)
                   .expand({rows, kMicroConds});

  auto tokens = torch::full({B, h, w}, scheduler_->mask_token_id(), torch::kInt64);
  scheduler_->set_timesteps(s.steps, temperature_start, temperature_end);
  std::vector<at::Generator> gens;
  for (const auto& r : batch) gens.push_back(cpu_generator(r.seed));
  for (std::size_t i = 0; i < scheduler_->timesteps().size(); ++i) {
    auto in = tokens.to(device_);
    if (cfg) in = torch::cat({in, in});
    auto logits = transformer_(in, states, pooled, micro);
    if (cfg) {
      auto parts = logits.chunk(2);
      logits = parts[0] + s.guidance * (parts[1] - parts[0]);
    }
    tokens = scheduler_->step(logits, i, tokens, gens).prev_sample;
  }
  return tokens;
}

torch::Tensor AmusedPipeline::decode(const torch::Tensor& tokens) {
  torch::NoGradGuard ng;
  return vqvae_->decode_tokens(tokens.to(device_, torch::kInt64)).to(torch::kFloat32).clamp(0, 1);
}

torch::Tensor AmusedPipeline::generate(const std::vector<ImageRequest>& batch, const GenerationSettings& s) {
  if (batch.size() > 1 && runs_requests_alone(device_))  // batch 1's numbers (diffusion/batch_invariance)
    return each_request_alone(batch, [&](const std::vector<ImageRequest>& one) { return generate(one, s); });
  return DiffusionPipeline::to_uint8(decode(generate_tokens(batch, s)));
}

std::unique_ptr<ImagePipeline> make_amused_pipeline(const PipelineOptions& opt) {
  return std::make_unique<AmusedPipeline>(opt);
}

}  // namespace catimage
