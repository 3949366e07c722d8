#pragma once
// Text-to-image with a diffusers AmusedPipeline folder (aMUSEd 256/512), following diffusers'
// pipeline_amused.py: CLIP prompt encoding (CLIPTextModelWithProjection: the projected pooled
// embedding and the penultimate hidden states), classifier-free guidance on the logits when
// guidance > 1 (negative prompt, "" when none), micro-conditioning (width, height, crop (0, 0),
// aesthetic score 6), all-masked initial tokens, the AmusedScheduler loop with temperatures
// (2, 0), and VQ-GAN decoding of the final tokens. Each image's sampling draws come from its
// own CPU generator seeded with its request's seed, so the same seed gives the same image
// whatever the batch; at batch 1 that is diffusers' AmusedPipeline called with
// generator=torch.Generator().manual_seed(seed).
#include <torch/torch.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "catimage/diffusion/image_pipeline.hpp"
#include "catimage/diffusion/models/clip_text_model.hpp"
#include "catimage/diffusion/models/uvit_2d.hpp"
#include "catimage/diffusion/models/vq_model.hpp"
#include "catimage/text/clip_tokenizer.hpp"

namespace catimage {

class AmusedScheduler;

// The model_index.json class of aMUSEd folders.
constexpr const char* kAmusedPipelineClass = "AmusedPipeline";

// "a diffusers AmusedPipeline folder (model_index.json, text_encoder/, ...)", for errors.
std::string amused_folder_layout();

// Checks an AmusedPipeline folder before any weights are read: model_index.json naming
// AmusedPipeline; every component's config and safetensors weights (pickled-only weights are
// named as such); the tokenizer files; and that every config holds only what this runtime
// supports and that the components fit together. Fails naming the file (and key).
void inspect_amused_folder(const std::string& dir);
// Everything AmusedPipeline(o) refuses before reading weights: a decoder override, a scheduler
// other than its own ("amused"), channels-last, then inspect_amused_folder(o.folder).
void check_amused_options(const PipelineOptions& o);

class AmusedPipeline : public ImagePipeline {
 public:
  // --dtype auto stays fp32 on the CPU even where it has bf16: bf16 logits pick other tokens,
  // and one other token changes a whole patch of the image.
  static constexpr bool kCpuBf16 = false;
  explicit AmusedPipeline(const PipelineOptions& opt);
  ~AmusedPipeline() override;

  torch::Tensor generate(const std::vector<ImageRequest>& batch, const GenerationSettings& s) override;
  // The final token ids (B, h, w) int64 on the CPU.
  torch::Tensor generate_tokens(const std::vector<ImageRequest>& batch, const GenerationSettings& s);
  // Token ids -> images in [0, 1] (B, 3, H, W) float32 (diffusers' output before uint8).
  torch::Tensor decode(const torch::Tensor& tokens);
  // The text conditioning as the transformer receives it: penultimate hidden states (B, 77,
  // D) and projected pooled embeddings (B, P).
  std::pair<torch::Tensor, torch::Tensor> encode_prompts(const std::vector<std::string>& prompts);

  int default_size() const override;
  std::string sampler_label() const override;
  std::string scheduler_class() const override;
  std::string describe() const override;
  torch::Device device() const override { return device_; }
  torch::Dtype dtype() const override { return dtype_; }
  int spatial_factor() const { return vqvae_->cfg.spatial_factor(); }

  // diffusers' __call__ arguments beyond the interface, at their defaults.
  double temperature_start = 2.0, temperature_end = 0.0;  // temperature=(2, 0)
  double aesthetic_score = 6.0;                           // micro_conditioning_aesthetic_score
  double crop_top = 0.0, crop_left = 0.0;                 // micro_conditioning_crop_coord

  UVit2DModel& transformer() { return transformer_; }
  VQModel& vqvae() { return vqvae_; }
  AmusedScheduler& scheduler() { return *scheduler_; }

 private:
  std::string dir_;
  torch::Device device_{torch::kCPU};
  torch::Dtype dtype_ = torch::kFloat32, vq_dtype_ = torch::kFloat32;
  ClipTokenizer tokenizer_;
  ClipTextModel text_encoder_{nullptr};
  UVit2DModel transformer_{nullptr};
  VQModel vqvae_{nullptr};
  std::unique_ptr<AmusedScheduler> scheduler_;
};

std::unique_ptr<ImagePipeline> make_amused_pipeline(const PipelineOptions& opt);

}  // namespace catimage
