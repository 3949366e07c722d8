#pragma once
// Text-to-image with a PixArt-α or PixArt-Σ folder (diffusers' PixArtAlphaPipeline /
// PixArtSigmaPipeline): the caption lower-cased and stripped (diffusers' clean_caption falls
// back to this without bs4/ftfy), T5 tokens padded to 120 (α) or 300 (Σ) with their attention
// mask, T5 encoder states; the negative prompt ("" unless a request gives one) encoded the same
// way for classifier-free guidance; the transformer cross-attends with
// the padding masked; resolution/aspect-ratio micro-conditions where the transformer config
// asks for them; learned sigma dropped; the folder's DPM-Solver++ scheduler; latents from one
// CPU generator per image seeded with its request's seed (the same seed gives the same image
// whatever the batch); resolution binning (generate at the nearest trained aspect ratio,
// resize and centre-crop back) as diffusers does by default; AutoencoderKL decode; uint8.
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "catimage/diffusion/image_pipeline.hpp"
#include "catimage/diffusion/models/autoencoder.hpp"
#include "catimage/diffusion/models/pixart_transformer_2d.hpp"
#include "catimage/diffusion/models/t5_encoder.hpp"
#include "catimage/diffusion/schedulers/scheduler.hpp"
#include "catimage/text/t5_tokenizer.hpp"

namespace catimage {

// What inspect_pixart_folder learns from a folder without reading weights.
struct PixArtFolder {
  std::string dir;
  std::string pipeline_class;                            // PixArtAlphaPipeline | PixArtSigmaPipeline
  int max_sequence_length = 120;                         // 120 (α), 300 (Σ)
  std::string scheduler_class;                           // scheduler_config.json "_class_name"
  std::string path(const std::string& component) const;  // dir/component
};

// "a diffusers PixArt folder (model_index.json, text_encoder/, tokenizer/spiece.model, ...)"
std::string pixart_folder_layout();
// The model_index.json classes of PixArt folders: PixArtAlphaPipeline, PixArtSigmaPipeline.
const std::vector<std::string>& pixart_pipeline_classes();

// Checks a PixArt folder before any weights are read: model_index.json naming
// PixArtAlphaPipeline or PixArtSigmaPipeline; text_encoder/, transformer/, vae/ with their
// config.json and safetensors weights (pickled-only weights are named and refused);
// tokenizer/spiece.model; scheduler/scheduler_config.json; every config parsed and checked
// (unsupported keys, a transformer that does not take the text encoder's width or the VAE's
// latent channels). Fails naming the file(s).
PixArtFolder inspect_pixart_folder(const std::string& dir);
// Everything PixArtPipeline(o) refuses before reading weights: a decoder override,
// channels-last, the folder (inspect_pixart_folder), a scheduler other than the folder's own
// (its own with a sigma schedule it takes runs: "DPM++ 2M Karras").
PixArtFolder check_pixart_options(const PipelineOptions& o);

// diffusers' _text_preprocessing with clean_caption off (or without bs4/ftfy): text.lower().strip().
std::string pixart_preprocess_caption(const std::string& text);

// Text states as the transformer takes them: (B, L, D) in the pipeline's dtype and the
// attention mask (B, L) int64 (1 token, 0 padding).
struct PixArtTextEmbeddings {
  torch::Tensor embeds, mask;
};

class PixArtPipeline : public ImagePipeline {
 public:
  explicit PixArtPipeline(const PipelineOptions& opt);

  torch::Tensor generate(const std::vector<ImageRequest>& batch, const GenerationSettings& s) override;

  // The prompts' T5 states and masks, as diffusers' encode_prompt (preprocessed, padded to
  // max_sequence_length()).
  PixArtTextEmbeddings encode_prompts(const std::vector<std::string>& prompts);
  // The denoising loop from given text states, one image per row of `positive` with its seed;
  // `negative` (same shape) is needed when s.guidance > 1. Final latents (B, C, h, w) float32
  // at the generated (binned) size.
  torch::Tensor generate_latents_from_embeddings(const PixArtTextEmbeddings& positive,
                                                 const PixArtTextEmbeddings& negative,
                                                 const std::vector<std::uint64_t>& seeds, const GenerationSettings& s);
  // Images (B, H, W, 3) uint8 on the CPU from given text states (for tests and tools).
  torch::Tensor generate_from_embeddings(const PixArtTextEmbeddings& positive, const PixArtTextEmbeddings& negative,
                                         const std::vector<std::uint64_t>& seeds, const GenerationSettings& s);
  // Latents -> images in [0, 1] (B, 3, H, W) float32, resized and cropped to height x width
  // when they were generated at a binned size (0: as decoded).
  torch::Tensor decode(const torch::Tensor& latents, int height = 0, int width = 0);

  // The size generated for a requested one: the aspect-ratio bin, or the request itself
  // (without a table for the transformer's sample_size, or with binning off).
  std::pair<int, int> generation_size(int height, int width) const;
  // diffusers' use_resolution_binning (on by default).
  void set_resolution_binning(bool on) { binning_ = on; }

  int default_size() const override;
  std::string sampler_label() const override { return scheduler_->sampler_label(); }
  std::string schedule_label() const override { return scheduler_->schedule_label(); }
  std::string scheduler_class() const override { return scheduler_->class_name(); }
  std::string describe() const override;
  torch::Device device() const override { return device_; }
  torch::Dtype dtype() const override { return dtype_; }

  const PixArtFolder& folder() const { return folder_; }
  int max_sequence_length() const { return folder_.max_sequence_length; }
  PixArtTransformer2DModel& transformer() { return transformer_; }
  Scheduler& scheduler() { return *scheduler_; }

 private:
  GenerationSettings resolve(const GenerationSettings& s) const;
  PixArtFolder folder_;
  torch::Device device_{torch::kCPU};
  torch::Dtype dtype_ = torch::kFloat32, decoder_dtype_ = torch::kFloat32;
  bool binning_ = true;
  std::unique_ptr<T5Tokenizer> tokenizer_;
  T5EncoderModel text_encoder_{nullptr};
  PixArtTransformer2DModel transformer_{nullptr};
  std::unique_ptr<LatentDecoder> decoder_;
  std::unique_ptr<Scheduler> scheduler_;
};

// The factory the model-family table uses.
std::unique_ptr<ImagePipeline> make_pixart_pipeline(const PipelineOptions& opt);

}  // namespace catimage
