#pragma once
// The two latent decoders a pipeline can use: diffusers' AutoencoderKL (decode and encode;
// scaling_factor and force_upcast from its config) and AutoencoderTiny (TAESD; decoder only).
// Both are built from a component folder holding config.json and
// diffusion_pytorch_model(.fp16).safetensors, or from a single .safetensors file with a
// config.json beside it.
#include <torch/torch.h>

#include <memory>
#include <string>

#include "catimage/diffusion/models/autoencoder_tiny.hpp"
#include "catimage/diffusion/models/vae.hpp"
#include "catimage/io/config_view.hpp"
#include "catimage/io/weights.hpp"

namespace catimage {

class LatentDecoder {
 public:
  virtual ~LatentDecoder() = default;
  // Denoised latents (as the UNet sees them) -> images in [-1, 1], (B,3,H,W).
  virtual torch::Tensor decode(const torch::Tensor& latents) = 0;
  virtual int spatial_factor() const = 0;  // image pixels per latent
  virtual int latent_channels() const = 0;
  virtual bool needs_fp32() const { return false; }  // force_upcast under fp16
  virtual void to(torch::Device device, torch::Dtype dtype) = 0;
  virtual std::string kind() const = 0;
};

// Opens `path` (a folder with config.json, or a .safetensors file with config.json beside it)
// and builds the decoder its config's _class_name names. Weights are loaded in fp32 on the CPU.
std::unique_ptr<LatentDecoder> load_latent_decoder(const std::string& path, bool with_encoder = false);
// The same from a config.json and the weights (diffusers' names) of any source.
std::unique_ptr<LatentDecoder> load_latent_decoder(const std::string& config, const WeightSource& w,
                                                   bool with_encoder = false);

// A freshly initialised module for an autoencoder config and the key prefix its weights
// carry (AutoencoderKL with its encoder; AutoencoderTiny's decoder under "decoder.").
std::pair<std::shared_ptr<torch::nn::Module>, std::string> make_autoencoder_module(const ConfigView& c);

// The AutoencoderKL decoder with its encoder, for tests and tools: encode/decode unscaled.
class KLAutoencoder {
 public:
  KLAutoencoder(AutoencoderKL m, double scaling) : model(std::move(m)), scaling_factor(scaling) {}
  AutoencoderKL model;
  double scaling_factor;
};
std::unique_ptr<KLAutoencoder> load_kl_autoencoder(const std::string& path);

}  // namespace catimage
