#include "catimage/diffusion/loaders/single_file.hpp"

#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>

#include "catimage/diffusion/loaders/ldm_names.hpp"
#include "catimage/diffusion/loaders/renamed_weights.hpp"
#include "catimage/util/error.hpp"

namespace fs = std::filesystem;

namespace catimage {

namespace {

using Kind = CheckpointLayout::Kind;

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

// Keys of the original training code that a diffusers pipeline has no place for.
const std::map<std::string, std::string>& dropped_keys() {
  static const std::string schedule = "the training noise schedule, which the scheduler config holds";
  static const std::map<std::string, std::string> keys = {
      {"betas", schedule},
      {"alphas_cumprod", schedule},
      {"alphas_cumprod_prev", schedule},
      {"sqrt_alphas_cumprod", schedule},
      {"sqrt_one_minus_alphas_cumprod", schedule},
      {"log_one_minus_alphas_cumprod", schedule},
      {"sqrt_recip_alphas_cumprod", schedule},
      {"sqrt_recipm1_alphas_cumprod", schedule},
      {"posterior_variance", schedule},
      {"posterior_log_variance_clipped", schedule},
      {"posterior_mean_coef1", schedule},
      {"posterior_mean_coef2", schedule},
      {"logvar", "ldm's learned log-variance of the training loss"},
      {"denoiser.sigmas", "the sgm denoiser's noise levels, which the scheduler config holds"},
      {"model_ema.decay", "the EMA's bookkeeping"},
      {"model_ema.num_updates", "the EMA's bookkeeping"},
  };
  return keys;
}

const std::string kUNetPrefix = "model.diffusion_model.";

// diffusers' flat name of a UNet key's EMA copy: "model_ema." + the key after "model." without dots.
std::string ema_key(const std::string& key) {
  std::string out = "model_ema.";
  for (char ch : key.substr(key.find('.') + 1))
    if (ch != '.') out += ch;
  return out;
}

// Whether some key of `f` starts with `prefix` (the names are sorted).
bool holds_prefix(const std::vector<std::string>& names, const std::string& prefix) {
  auto it = std::lower_bound(names.begin(), names.end(), prefix);
  return it != names.end() && starts_with(*it, prefix);
}

std::string first_keys(const std::vector<std::string>& keys, std::size_t n = 10) {
  std::vector<std::string> head(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(std::min(n, keys.size())));
  return fmt::format("{}{}", fmt::join(head, ", "),
                     keys.size() > n ? fmt::format(", ... ({} in all)", keys.size()) : "");
}

std::string config_path(const std::string& dir, const std::string& component) {
  return (fs::path(dir) / component / "config.json").string();
}

// The renaming tables of one layout's components, built from the pipeline's configs.
struct Renamers {
  std::optional<LdmUNetNames> unet;
  std::optional<LdmVaeNames> vae;
  std::map<std::string, ClipTextConfig> clip;

  Renamers(const CheckpointLayout& l, const std::string& dir) {
    for (const auto& p : l.parts) {
      const auto c = ConfigView::load(config_path(dir, p.component));
      switch (p.kind) {
        case Kind::unet: unet.emplace(UNetConfig::from(c)); break;
        case Kind::vae: vae.emplace(AutoencoderKLConfig::from(c)); break;
        case Kind::openai_clip:
        case Kind::openclip: clip.emplace(p.component, ClipTextConfig::from(c)); break;
      }
    }
  }

  LdmRename rename(const CheckpointLayout::Part& p, const std::string& key) const {
    switch (p.kind) {
      case Kind::unet: return unet->to_diffusers(key);
      case Kind::vae: return vae->to_diffusers(key);
      case Kind::openai_clip: return openai_clip_to_diffusers(key);
      case Kind::openclip: return openclip_to_diffusers(key, clip.at(p.component));
    }
    return {};
  }
};

// Every component's view of the file, and the keys no rule maps.
struct Views {
  std::map<std::string, std::shared_ptr<RenamedWeights>> of;
  std::vector<std::string> unmapped;
};

std::string layout_names(const std::string& path) {
  std::vector<std::string> v;
  for (const auto& l : checkpoint_layouts()) v.push_back(l.what);
  return fmt::format("{}: not a single-file checkpoint this runtime reads ({})", path, fmt::join(v, "; "));
}

}  // namespace

const std::vector<CheckpointLayout>& checkpoint_layouts() {
  static const std::vector<CheckpointLayout> layouts = {
      {"sdxl",
       "an SDXL checkpoint (sgm layout: OpenAI CLIP under conditioner.embedders.0.transformer., OpenCLIP under "
       "conditioner.embedders.1.model.)",
       "sdxl",
       {{"unet", kUNetPrefix, Kind::unet},
        {"vae", "first_stage_model.", Kind::vae},
        {"text_encoder", "conditioner.embedders.0.transformer.", Kind::openai_clip},
        {"text_encoder_2", "conditioner.embedders.1.model.", Kind::openclip}}},
      {"sd21",
       "an SD 2.x checkpoint in the sgm layout of sd_turbo.safetensors (OpenCLIP under "
       "conditioner.embedders.0.model.)",
       "sd-turbo",
       {{"unet", kUNetPrefix, Kind::unet},
        {"vae", "first_stage_model.", Kind::vae},
        {"text_encoder", "conditioner.embedders.0.model.", Kind::openclip}}},
      {"sd21",
       "an SD 2.x checkpoint (ldm layout: OpenCLIP under cond_stage_model.model.)",
       "sd21",
       {{"unet", kUNetPrefix, Kind::unet},
        {"vae", "first_stage_model.", Kind::vae},
        {"text_encoder", "cond_stage_model.model.", Kind::openclip}}},
      {"sd15",
       "an SD 1.x checkpoint (ldm layout: OpenAI CLIP under cond_stage_model.transformer.)",
       "sd15",
       {{"unet", kUNetPrefix, Kind::unet},
        {"vae", "first_stage_model.", Kind::vae},
        {"text_encoder", "cond_stage_model.transformer.", Kind::openai_clip}}},
  };
  return layouts;
}

bool is_checkpoint_file(const std::string& path) {
  std::error_code ec;
  return fs::path(path).extension() == ".safetensors" && fs::is_regular_file(path, ec);
}

void refuse_pickled_checkpoint(const std::string& path) {
  const auto ext = fs::path(path).extension().string();
  std::error_code ec;
  if ((ext != ".ckpt" && ext != ".pt" && ext != ".pth" && ext != ".bin") || !fs::is_regular_file(path, ec)) return;
  const auto out = (fs::path(path).parent_path() / (fs::path(path).stem().string() + ".safetensors")).string();
  fail(
      "{}: a pickled checkpoint is never opened (unpickling can run code); convert it to safetensors once, e.g. "
      "python3 -c \"import torch, safetensors.torch as s; d = torch.load('{}', map_location='cpu', "
      "weights_only=True); s.save_file({{k: v.contiguous() for k, v in d.get('state_dict', d).items()}}, '{}')\"",
      path, path, out);
}

SingleFileCheckpoint::SingleFileCheckpoint(const std::string& path) : path_(path) {
  refuse_pickled_checkpoint(path);
  file_ = std::make_shared<WeightFiles>(WeightFiles::file(path));
  const auto names = file_->names();  // sorted
  for (const auto& l : checkpoint_layouts()) {
    bool all = true;
    for (const auto& p : l.parts)
      if (p.kind == Kind::openai_clip || p.kind == Kind::openclip) all = all && holds_prefix(names, p.prefix);
    if (all) {
      layout_ = &l;
      break;
    }
  }
  if (!layout_) fail("{}; its keys begin {}", layout_names(path), first_keys(names, 5));
  if (!holds_prefix(names, kUNetPrefix))
    fail("{}: {}, but without a UNet (no {}* keys)", path, layout_->what, kUNetPrefix);
  if (layout_->family != "sdxl" && holds_prefix(names, kUNetPrefix + "label_emb."))
    fail(
        "{}: its UNet has {}label_emb.* (an SDXL refiner or another class-conditioned UNet): only text-to-image "
        "checkpoints run here",
        path, kUNetPrefix);
  if (const auto conv_in = kUNetPrefix + "input_blocks.0.0.weight"; file_->has(conv_in)) {
    const auto s = file_->shape(conv_in);
    if (s.size() == 4 && s[1] != 4)
      fail("{}: its UNet takes {} input channels (an inpainting or image-conditioned UNet); text-to-image UNets take 4",
           path, s[1]);
  }
  for (const auto& k : names)
    if (starts_with(k, "model_ema.") && !dropped_keys().count(k)) ema_ = true;
  spdlog::debug("{}: {}{}", path, layout_->what, ema_ ? ", with EMA copies of the UNet (used)" : "");
}

namespace {

Views build_views(const WeightFiles& file, const std::shared_ptr<const WeightFiles>& shared,
                  const CheckpointLayout& layout, bool ema, const std::string& config_dir, const std::string& path) {
  const Renamers r(layout, config_dir);
  Views v;
  for (const auto& p : layout.parts)
    v.of[p.component] = std::make_shared<RenamedWeights>(
        shared, fmt::format("{}: {} (its {}* keys under diffusers' names)", path, p.component, p.prefix));
  std::set<std::string> ema_used;
  std::vector<std::string> ema_missing;
  for (const auto& key : file.names()) {
    if (dropped_keys().count(key) || starts_with(key, "model_ema.")) continue;
    const CheckpointLayout::Part* part = nullptr;
    for (const auto& p : layout.parts)
      if (starts_with(key, p.prefix)) part = &p;
    if (!part) {
      v.unmapped.push_back(key);
      continue;
    }
    const LdmRename rn = r.rename(*part, key.substr(part->prefix.size()));
    if (!rn.mapped()) {
      v.unmapped.push_back(key);
      continue;
    }
    std::string stored = key;
    if (ema && part->kind == Kind::unet) {
      stored = ema_key(key);
      if (!file.has(stored)) {
        ema_missing.push_back(fmt::format("{} ({})", key, stored));
        continue;
      }
      ema_used.insert(stored);
    }
    for (const auto& n : rn.names) v.of[part->component]->add(n.name, stored, n.op, n.part);
  }
  if (!ema_missing.empty())
    fail("{}: has EMA copies of the UNet (model_ema.*) but not of {}", path, first_keys(ema_missing, 5));
  for (const auto& key : file.names())
    if (starts_with(key, "model_ema.") && !dropped_keys().count(key) && !ema_used.count(key)) v.unmapped.push_back(key);
  std::sort(v.unmapped.begin(), v.unmapped.end());
  return v;
}

}  // namespace

namespace {

void refuse_unmapped(const Views& v, const std::string& path, const CheckpointLayout& l, const std::string& dir) {
  if (!v.unmapped.empty())
    fail("{}: {} key(s) of {} map to no tensor of the pipeline ({}): {}", path, v.unmapped.size(), l.what, dir,
         first_keys(v.unmapped));
}

}  // namespace

void SingleFileCheckpoint::check_keys(const std::string& config_dir) const {
  refuse_unmapped(build_views(*file_, file_, *layout_, ema_, config_dir, path_), path_, *layout_, config_dir);
}

std::shared_ptr<const WeightSource> SingleFileCheckpoint::component(const std::string& component,
                                                                    const std::string& config_dir) const {
  const Views v = build_views(*file_, file_, *layout_, ema_, config_dir, path_);
  refuse_unmapped(v, path_, *layout_, config_dir);
  auto it = v.of.find(component);
  if (it == v.of.end()) fail("{}: {} has no {}", path_, layout_->what, component);
  if (it->second->names().empty()) fail("{}: holds no {} ({})", path_, component, it->second->describe());
  return it->second;
}

std::shared_ptr<const WeightSource> ldm_vae_file(const std::string& path, const std::string& vae_config) {
  refuse_pickled_checkpoint(path);
  auto file = std::make_shared<WeightFiles>(WeightFiles::file(path));
  const auto names = file->names();
  std::string prefix;
  for (const char* p : {"first_stage_model.", "vae."})
    if (holds_prefix(names, p)) prefix = p;
  if (!holds_prefix(names, prefix + "decoder.up.") && !holds_prefix(names, prefix + "decoder.mid.block_1."))
    return nullptr;  // diffusers names
  const LdmVaeNames r(AutoencoderKLConfig::from(ConfigView::load(vae_config)));
  auto view = std::make_shared<RenamedWeights>(
      file, fmt::format("{}: an ldm VAE (its keys under diffusers' names, for {})", path, vae_config));
  std::vector<std::string> unmapped;
  for (const auto& key : names) {
    if (dropped_keys().count(key)) continue;
    const LdmRename rn = starts_with(key, prefix) ? r.to_diffusers(key.substr(prefix.size())) : LdmRename{};
    if (!rn.mapped()) unmapped.push_back(key);
    for (const auto& n : rn.names) view->add(n.name, key, n.op, n.part);
  }
  if (!unmapped.empty())
    fail("{}: {} key(s) of an ldm VAE file map to no tensor of the AutoencoderKL of {}: {}", path, unmapped.size(),
         vae_config, first_keys(unmapped));
  return view;
}

}  // namespace catimage
