#pragma once
// Text-to-image with a diffusers pipeline folder (StableDiffusionPipeline for SD1.x/SD2.x,
// StableDiffusionXLPipeline), following diffusers' pipelines: CLIP prompt encoding (SDXL: both
// encoders' penultimate states, pooled projection, time ids), classifier-free guidance with
// batched uncond/cond when guidance > 1, per-image CPU generators (the same seed gives the
// same image whatever the batch), scheduler loop, VAE decode.
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "catimage/diffusion/device.hpp"
#include "catimage/diffusion/image_pipeline.hpp"
#include "catimage/diffusion/model_folder.hpp"
#include "catimage/diffusion/models/autoencoder.hpp"
#include "catimage/diffusion/models/clip_text_model.hpp"
#include "catimage/diffusion/models/unet_2d_condition.hpp"
#include "catimage/diffusion/schedulers/registry.hpp"
#include "catimage/diffusion/schedulers/scheduler.hpp"
#include "catimage/io/weights.hpp"
#include "catimage/text/clip_tokenizer.hpp"

namespace catimage {

// The model_index.json classes of the folders DiffusionPipeline runs.
constexpr const char* kSdPipelineClass = "StableDiffusionPipeline";      // SD1.x, SD2.x
constexpr const char* kSdxlPipelineClass = "StableDiffusionXLPipeline";  // SDXL

// What inspect_pipeline_folder learns from a model without reading weights.
struct PipelineFolder {
  std::string dir;             // the model: a diffusers folder or a single-file checkpoint
  std::string config_dir;      // its configs and tokenizers: `dir`, or a single file's configs
  std::string pipeline_class;  // kSdPipelineClass | kSdxlPipelineClass
  bool sdxl = false;
  bool force_zeros_for_empty_prompt = false;

  std::string path(const std::string& component) const;  // config_dir/component
};

// "a diffusers pipeline folder (model_index.json, text_encoder/, ...)": what
// inspect_pipeline_folder requires of a StableDiffusionPipeline (sdxl: StableDiffusionXLPipeline).
std::string pipeline_folder_layout(bool sdxl);

// Reads model_index.json (StableDiffusionPipeline or StableDiffusionXLPipeline) and checks,
// before any weights are read, that every component the pipeline needs is there (config and
// safetensors weights; for a single-file checkpoint its configs, and that its keys all map).
// The error lists every missing file with its expected path. o.vae (a folder or .safetensors
// file) replaces vae/.
PipelineFolder inspect_pipeline_folder(const PipelineOptions& o);

// The components a LoRA may update in such a pipeline (diffusers' names): text_encoder, unet, and
// for SDXL text_encoder_2.
std::vector<std::string> pipeline_lora_components(const PipelineFolder& f);

class DiffusionPipeline : public ImagePipeline {
 public:
  explicit DiffusionPipeline(const PipelineOptions& opt);

  // Final latents (B, C, h, w) float32 on the pipeline's device.
  torch::Tensor generate_latents(const std::vector<ImageRequest>& batch, const GenerationSettings& s);
  // Images (B, H, W, 3) uint8 on the CPU.
  torch::Tensor generate(const std::vector<ImageRequest>& batch, const GenerationSettings& s) override;
  // Latents -> images in [0, 1] (B, 3, H, W) float32 (diffusers' postprocess before uint8).
  torch::Tensor decode(const torch::Tensor& latents);
  static torch::Tensor to_uint8(const torch::Tensor& images01);  // -> (B, H, W, 3) uint8 CPU

  // Prompt embeddings as the UNet receives them (for tests): context (B,77,D), pooled (SDXL).
  std::pair<torch::Tensor, torch::Tensor> encode_prompts(const std::vector<std::string>& prompts,
                                                         const std::vector<bool>& zero = {});

  const PipelineFolder& folder() const { return folder_; }
  Scheduler& scheduler() { return *scheduler_; }
  std::string sampler_label() const override { return scheduler_->sampler_label(); }
  std::string schedule_label() const override { return scheduler_->schedule_label(); }
  std::string scheduler_class() const override { return scheduler_->class_name(); }
  torch::Device device() const override { return device_; }
  torch::Dtype dtype() const override { return dtype_; }
  int default_size() const override;
  int spatial_factor() const { return decoder_->spatial_factor(); }
  std::string describe() const override;
  UNet2DConditionModel& unet() { return unet_; }

 private:
  torch::Tensor unet_forward(const torch::Tensor& x, double t, const torch::Tensor& ctx, const torch::Tensor& pooled,
                             const torch::Tensor& time_ids);
  PipelineFolder folder_;
  torch::Device device_{torch::kCPU};
  torch::Dtype dtype_ = torch::kFloat32;
  bool channels_last_ = false;
  std::vector<ClipTokenizer> tokenizers_;
  std::vector<ClipTextModel> encoders_;
  UNet2DConditionModel unet_{nullptr};
  std::unique_ptr<LatentDecoder> decoder_;
  std::unique_ptr<Scheduler> scheduler_;
  torch::Dtype decoder_dtype_ = torch::kFloat32;
  std::int64_t pooled_dim_ = 0;
};

// Loads a component's weights (safetensors) into a module built from its config: from a
// component folder (config.json and its weights), or from a config and a WeightSource (a
// single file's component, diffusion/loaders/model_source).
ClipTextModel load_clip_text_model(const std::string& dir);
ClipTextModel load_clip_text_model(const std::string& config, const WeightSource& w);
UNet2DConditionModel load_unet(const std::string& dir);
UNet2DConditionModel load_unet(const std::string& config, const WeightSource& w);
std::unique_ptr<Scheduler> load_scheduler(const std::string& dir, const std::string& override_name = "");

}  // namespace catimage
