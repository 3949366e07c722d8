#pragma once
// Keras' MobileNet v1 as keras-applications' mobilenet.py builds it (tf.keras.applications.MobileNet)
// with include_top=False, pooling='avg': the base network of idealo's NIMA. Keras runs NHWC,
// this module NCHW. Its keys are the Keras layer names with PyTorch's weight names and layouts,
// as scripts/nima_h5_to_safetensors.py writes them from a Keras .hdf5:
//   conv1.weight (int(32 alpha), 3, 3, 3)
//   conv_dw_K.weight (C * depth_multiplier, 1, 3, 3)   DepthwiseConv2D, output channel c * dm + m
//   conv_pw_K.weight (int(F_K alpha), C * dm, 1, 1)    for K = 1..13
//   <conv>_bn.weight / .bias / .running_mean / .running_var   BatchNormalization gamma / beta /
//                                                             moving_mean / moving_variance
// Every convolution is bias-free and followed by BatchNormalization and ReLU(6.).
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "catimage/io/config_view.hpp"

namespace catimage {

// keras-applications' MobileNet arguments, and the two facts a weights file does not record.
// padding, how a 3x3 convolution pads:
//   "same": TensorFlow's 'same' at stride 1, and ZeroPadding2D(((0, 1), (0, 1))) (a row and a
//     column of zeros after) then 'valid' at stride 2: keras-applications >= 1.0.3 (Keras >=
//     2.2.1, tf.keras), what idealo's predict path runs; Keras <= 2.1.4 (Conv2D padding='same')
//     pads the same at the even sizes NIMA's 224 input gives;
//   "symmetric": ZeroPadding2D((1, 1)) then 'valid' at every 3x3 convolution: Keras 2.1.5 -
//     2.2.0 (keras-applications 1.0.2), the network idealo trained its published weights in.
// epsilon: BatchNormalization's, Keras' default 1e-3 (PyTorch's is 1e-5).
struct MobileNetConfig {
  double alpha = 1.0;  // width multiplier: a layer of F filters has int(F * alpha)
  std::int64_t depth_multiplier = 1;
  std::string padding = "same";
  double epsilon = 1e-3;
  // Reads alpha, depth_multiplier, padding and epsilon.
  static MobileNetConfig from(const ConfigView& c);
  // int(filters * alpha), as Python truncates it.
  std::int64_t filters(std::int64_t base) const;
};

// The paddings this runtime implements, for messages.
const std::vector<std::string>& mobilenet_paddings();

// Keras' BatchNormalization at inference: (x - moving_mean) / sqrt(moving_variance + epsilon) *
// gamma + beta, per channel (dim 1); keys weight, bias, running_mean, running_var.
struct KerasBatchNormImpl : torch::nn::Module {
  KerasBatchNormImpl(std::int64_t channels, double epsilon);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight, bias, running_mean, running_var;
  double epsilon;
};
TORCH_MODULE(KerasBatchNorm);

struct MobileNetImpl : torch::nn::Module {
  explicit MobileNetImpl(const MobileNetConfig& c);
  // (B, 3, H, W) -> (B, features()): the last block's output, averaged over H and W.
  torch::Tensor forward(const torch::Tensor& x);
  std::int64_t features() const { return cfg.filters(1024); }

  struct Block {  // _depthwise_conv_block
    std::int64_t stride = 1;
    torch::nn::Conv2d dw{nullptr}, pw{nullptr};
    KerasBatchNorm dw_bn{nullptr}, pw_bn{nullptr};
  };
  MobileNetConfig cfg;
  torch::nn::Conv2d conv1{nullptr};  // _conv_block: 3x3, stride 2
  KerasBatchNorm conv1_bn{nullptr};
  std::vector<Block> blocks;  // conv_dw_1 .. conv_dw_13

 private:
  torch::Tensor pad3x3(const torch::Tensor& x, std::int64_t stride) const;
};
TORCH_MODULE(MobileNet);

}  // namespace catimage
