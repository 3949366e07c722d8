#include "catimage/diffusion/loaders/model_source.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "catimage/diffusion/loaders/shipped_configs.hpp"
#include "catimage/diffusion/loaders/single_file.hpp"
#include "catimage/io/model_ref.hpp"
#include "catimage/util/error.hpp"

namespace fs = std::filesystem;

namespace catimage {

namespace {

// The family of a pipeline folder's configs as far as its class tells (SD 1.x and 2.x share one).
bool class_fits(const std::string& pipeline_class, const std::string& family) {
  if (pipeline_class == "StableDiffusionXLPipeline") return family == "sdxl";
  if (pipeline_class == "StableDiffusionPipeline") return family == "sd15" || family == "sd21";
  return false;
}

}  // namespace

std::string single_file_config_dir(const SingleFileCheckpoint& file, const std::string& config) {
  const CheckpointLayout& l = file.layout();
  const ShippedConfig* shipped = nullptr;
  std::string dir, why;
  if (!config.empty()) {
    shipped = find_shipped_config(config);
    if (!shipped) {
      dir = resolve_model_ref(config);
      why = "\"config\" " + config;
    }
  } else if (auto repo = snapshot_repo(file.path()); repo && find_shipped_config(repo->text())) {
    shipped = find_shipped_config(repo->text());
  } else {
    shipped = find_shipped_config(l.default_config);
  }
  if (shipped) {
    if (shipped->family != l.family)
      fail("{}: {}; the configs {} ({}) are of family {}, not {}", file.path(), l.what, shipped->name, shipped->repo,
           shipped->family, l.family);
    return shipped_config_dir(*shipped);
  }
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    fail(
        "{}: {} is not a folder of pipeline configs (model_index.json, unet/config.json, ...) nor a shipped config "
        "({})",
        file.path(), why, shipped_config_names());
  const ModelIndex mi = read_model_index(dir, "a diffusers pipeline folder (its configs; weights are not read)");
  if (!class_fits(mi.pipeline_class, l.family))
    fail("{}: {}; {} names {}, which does not run a checkpoint of family {}", file.path(), l.what, mi.file,
         mi.pipeline_class, l.family);
  return dir;
}

ModelSource ModelSource::open(const PipelineOptions& o, const std::string& folder_layout,
                              const std::string& example_repo) {
  ModelSource s;
  s.model_ = o.folder;
  refuse_pickled_checkpoint(o.folder);
  if (is_checkpoint_file(o.folder)) {
    auto ckpt = std::make_shared<SingleFileCheckpoint>(o.folder);
    s.config_ = single_file_config_dir(*ckpt, o.config);
    ckpt->check_keys(s.config_);
    s.checkpoint_ = std::move(ckpt);
  } else {
    if (!o.config.empty())
      fail(
          "\"config\" / --model-config {}: {} is a diffusers folder with its own configs; \"config\" is for a "
          "single-file checkpoint",
          o.config, o.folder);
    s.config_ = o.folder;
  }
  s.index_ = read_model_index(s.config_, folder_layout, example_repo);
  return s;
}

std::string ModelSource::path(const std::string& component) const { return (fs::path(config_) / component).string(); }

std::string ModelSource::config(const std::string& component) const {
  return (fs::path(config_) / component / "config.json").string();
}

std::string ModelSource::tokenizer_files(const std::string& component) const {
  const std::string own = path(component);
  std::error_code ec;
  if (fs::exists(fs::path(own) / "vocab.json", ec)) return own;
  const json& j = index_.index;
  if (!j.contains("_tokenizer_files")) return own;  // its missing files are reported by the caller's checks
  const json& refs = j["_tokenizer_files"];
  if (!refs.is_object())
    fail("{}: _tokenizer_files: expected an object {{\"tokenizer\": REF, ...}}, got {}", index_.file, refs.dump());
  if (!refs.contains(component)) return own;
  if (!refs[component].is_string() || refs[component].get<std::string>().empty())
    fail("{}: _tokenizer_files.{}: expected a folder or a repo reference org/name[@revision][/folder], got {}",
         index_.file, component, refs[component].dump());
  const std::string ref = refs[component].get<std::string>();
  if (const fs::path local = fs::path(config_) / ref; fs::path(ref).is_relative() && fs::is_directory(local, ec))
    return local.lexically_normal().string();  // a folder beside the configs
  return resolve_repo_files(ref, {"vocab.json", "merges.txt"},
                            fmt::format("{}'s {} (vocab.json, merges.txt; {})", config_, component, index_.file));
}

std::string ModelSource::file_family() const { return checkpoint_ ? checkpoint_->layout().family : ""; }

std::shared_ptr<const WeightSource> ModelSource::weights(const std::string& component, const std::string& stem) const {
  if (checkpoint_) return checkpoint_->component(component, config_);
  return std::make_shared<WeightFiles>(WeightFiles::in_folder(path(component), stem));
}

std::pair<std::string, std::shared_ptr<const WeightSource>> ModelSource::vae(const std::string& vae_override) const {
  if (vae_override.empty()) return {config("vae"), weights("vae", "diffusion_pytorch_model")};
  std::error_code ec;
  if (fs::is_directory(vae_override, ec))
    return {(fs::path(vae_override) / "config.json").string(),
            std::make_shared<WeightFiles>(WeightFiles::in_folder(vae_override, "diffusion_pytorch_model"))};
  refuse_pickled_checkpoint(vae_override);
  if (!is_checkpoint_file(vae_override))
    fail("--vae / \"vae\" {}: not a decoder folder or a .safetensors file", vae_override);
  const auto beside = fs::path(vae_override).parent_path() / "config.json";
  const std::string cfg = fs::is_regular_file(beside, ec) ? beside.string() : config("vae");
  if (auto ldm = ldm_vae_file(vae_override, cfg)) return {cfg, ldm};
  return {cfg, std::make_shared<WeightFiles>(WeightFiles::file(vae_override))};
}

void ModelSource::require_folder(const std::string& model, const std::string& family) {
  refuse_pickled_checkpoint(model);
  if (is_checkpoint_file(model))
    fail(
        "{}: {} runs diffusers pipeline folders only; single-file checkpoints are read for the Stable Diffusion "
        "families (sd15, sd21, sdxl)",
        model, family);
}

std::string ModelSource::describe() const { return checkpoint_ ? model_ + " (configs: " + config_ + ")" : model_; }

}  // namespace catimage
