#pragma once
// Where a pipeline's components come from: the one resolver every family's pipeline asks. A
// model is a diffusers pipeline folder (model_index.json, a subfolder per component with its
// config and safetensors weights) or a single-file checkpoint (diffusion/loaders/single_file),
// whose configs and tokenizers come from a pipeline folder without weights: PipelineOptions'
// `config` when given (the name or repo id of a shipped config, loaders/shipped_configs, else a
// local folder or a hub-cache repo), else the shipped config of the hub repo the file is in
// (stabilityai/sdxl-turbo/sd_xl_turbo_1.0_fp16.safetensors: sdxl-turbo), else the one its
// layout implies (diffusers' infer_diffusers_model_type: SD 1.x -> sd15, SD 2.x -> sd21 or, in
// SD-Turbo's sgm layout, sd-turbo, SDXL -> sdxl).
#include <memory>
#include <string>

#include "catimage/diffusion/model_folder.hpp"
#include "catimage/diffusion/pipeline_options.hpp"
#include "catimage/io/weights.hpp"

namespace catimage {

class SingleFileCheckpoint;

class ModelSource {
 public:
  // Reads o.folder's model_index.json (a folder's own, or its configs' for a single file) and,
  // for a single file, its header: detects its layout, chooses its configs and checks every
  // key maps (io errors name the file). Reads no tensors.
  static ModelSource open(const PipelineOptions& o, const std::string& folder_layout = "",
                          const std::string& example_repo = "");

  bool single_file() const { return checkpoint_ != nullptr; }
  const std::string& model() const { return model_; }        // o.folder
  const ModelIndex& index() const { return index_; }         // model_index.json of config_dir()
  const std::string& config_dir() const { return config_; }  // the folder with the configs and tokenizers
  std::string path(const std::string& component) const;      // config_dir()/component
  std::string config(const std::string& component) const;    // config_dir()/component/config.json
  // The folder with a CLIP tokenizer's vocab.json and merges.txt: the component's own folder when
  // it holds vocab.json (any diffusers folder), else the place model_index.json's
  // "_tokenizer_files" names for it — a shipped config set's, such as
  // {"tokenizer": "openai/clip-vit-large-patch14"}, resolved like a model (a local folder, relative
  // ones against config_dir(), else org/name[@revision][/folder] in the hub cache; missing: one
  // error with the download command).
  // The tokenizer's settings (pad token, length) stay the component folder's.
  std::string tokenizer_files(const std::string& component) const;
  // The family a single file's layout says (sd15, sd21, sdxl); "" for a folder.
  std::string file_family() const;
  // The component's weights: the folder's STEM safetensors (single, sharded or fp16), or the
  // component's part of the single file under its diffusers names.
  std::shared_ptr<const WeightSource> weights(const std::string& component, const std::string& stem) const;
  // The decoder's config.json and weights: `vae_override` when given (a folder with config.json;
  // a .safetensors file with a config.json beside it, else under this pipeline's vae config;
  // a file in the ldm layout renamed), else the pipeline's vae.
  std::pair<std::string, std::shared_ptr<const WeightSource>> vae(const std::string& vae_override) const;
  // Fails when `model` is a single-file checkpoint: `family` ("family pixart") runs diffusers folders only.
  static void require_folder(const std::string& model, const std::string& family);
  std::string describe() const;  // the folder, or "FILE (configs: DIR)"

 private:
  std::string model_, config_;
  ModelIndex index_;
  std::shared_ptr<const SingleFileCheckpoint> checkpoint_;
};

// The configs a single-file checkpoint at `file` runs with, chosen as above; `config` as given
// (already resolved from the hub cache when a repo id, or a shipped config's name). Fails when
// the configs are of another family than the file's layout.
std::string single_file_config_dir(const SingleFileCheckpoint& file, const std::string& config);

}  // namespace catimage
