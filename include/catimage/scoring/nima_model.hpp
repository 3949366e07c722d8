#pragma once
// NIMA (Talebi & Milanfar 2018) as idealo's image-quality-assessment builds it
// (src/handlers/model_builder.py, Nima.build): Keras' MobileNet (include_top=False,
// pooling='avg') on a 224x224 image, Dropout(0.75), Dense(10, softmax): a distribution over the
// ratings 1..10, whose mean sum_i i * p_i is the score (src/utils/utils.py, calc_mean_score).
// A NIMA folder holds config.json and model.safetensors, as scripts/nima_h5_to_safetensors.py
// converts them from idealo's Keras .hdf5 (weights_mobilenet_aesthetic_0.07.hdf5,
// weights_mobilenet_technical_0.11.hdf5). Keys: the MobileNet's (mobilenet.hpp) and
// dense.weight (n_classes, features), dense.bias (n_classes). Dropout is the identity at inference.
#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "catimage/io/config_view.hpp"
#include "catimage/scoring/mobilenet.hpp"

namespace catimage {

// config.json: {"model_type": "nima", "base_model_name": "MobileNet", "alpha", "depth_multiplier",
// "padding", "epsilon" (mobilenet.hpp), "image_size", "n_classes"}; idealo's names where it has them.
struct NimaConfig {
  std::string base_model_name = "MobileNet";  // idealo's config key; the only base implemented
  MobileNetConfig mobilenet;
  std::int64_t image_size = 224;  // load_img's target_size: images are resized to image_size^2
  std::int64_t n_classes = 10;
  static NimaConfig from(const ConfigView& c);
};

struct NimaOutput {
  torch::Tensor features;  // (B, F): the pooled MobileNet features
  torch::Tensor logits;    // (B, n_classes): the Dense layer before its softmax
  torch::Tensor probs;     // (B, n_classes)
  torch::Tensor score;     // (B) float64: nima_mean_score(probs)
};

struct NimaModelImpl : torch::nn::Module {
  explicit NimaModelImpl(const NimaConfig& c);
  // pixel_values (B, 3, image_size, image_size), prepared as keras_image.hpp says.
  NimaOutput forward(const torch::Tensor& pixel_values);
  NimaConfig cfg;
  MobileNet base{nullptr};  // its layers are this module's top-level keys (conv1, conv_dw_1, ...)
  torch::nn::Linear dense{nullptr};
};
TORCH_MODULE(NimaModel);

// idealo's calc_mean_score of each row: the distribution normalised to sum 1, then
// sum_{i=1..n} i * p_i, in float64. (B, n) -> (B).
torch::Tensor nima_mean_score(const torch::Tensor& probs);

// True when `dir`/config.json says "model_type": "nima".
bool is_nima_folder(const std::string& dir);

// `dir`/config.json and `dir`/model.safetensors; eval mode, CPU, fp32.
NimaModel load_nima_model(const std::string& dir);

// Seeded random weights for a NIMA folder (config.json only): writes `dir`/model.safetensors and
// returns it, or "" when weights are already there and not `force`. For tiny test models: He-uniform
// convolutions and Dense, BatchNormalization statistics near the identity, so that activations
// neither vanish nor saturate through the 27 layers and different images score differently.
std::string write_random_nima_weights(const std::string& dir, std::uint64_t seed, bool force = false);

}  // namespace catimage
