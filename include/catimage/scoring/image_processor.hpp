#pragma once
// transformers' CLIPImageProcessor, from a preprocessor_config.json: RGB conversion, resize of
// the shortest edge (keeping the aspect ratio), centre crop, rescale to [0, 1] and
// per-channel normalisation, giving the pixel_values a CLIP vision tower takes.
// transformers resizes with PIL; here the resize is libtorch's antialiased bicubic (the same
// Keys a = -0.5 kernel with PIL's support scaling), done one axis at a time and rounded to
// 8 bits after each pass as PIL does, so results agree with PIL to about one 8-bit level.
#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "catimage/io/config_view.hpp"

namespace catimage {

// The preprocessor_config.json keys; member initialisers are transformers' CLIPImageProcessor defaults.
struct ClipImageProcessorConfig {
  bool do_resize = true;
  std::int64_t shortest_edge = 224;              // size: {"shortest_edge": N} or N
  std::int64_t size_height = 0, size_width = 0;  // size: {"height": H, "width": W} (then shortest_edge is 0)
  int resample = 3;                              // PIL's numbering: 2 bilinear, 3 bicubic (both supported)
  bool do_center_crop = true;
  std::int64_t crop_height = 224, crop_width = 224;  // crop_size: {"height", "width"} or N
  bool do_rescale = true;
  double rescale_factor = 1.0 / 255.0;
  bool do_normalize = true;
  std::array<double, 3> image_mean = {0.48145466, 0.4578275, 0.40821073};  // OpenAI CLIP's
  std::array<double, 3> image_std = {0.26862954, 0.26130258, 0.27577711};
  bool do_convert_rgb = true;
  static ClipImageProcessorConfig from(const ConfigView& c);
};

class ClipImageProcessor {
 public:
  // `dir`/preprocessor_config.json; fails naming the file when it is missing.
  static ClipImageProcessor from_folder(const std::string& dir);
  explicit ClipImageProcessor(ClipImageProcessorConfig cfg = {});

  // One image: (H, W, C) uint8 with C = 3 (RGB), 4 (RGBA: alpha dropped, as PIL's
  // convert("RGB")) or 1 (grey) -> (1, 3, h, w) float32 pixel values.
  torch::Tensor operator()(const torch::Tensor& hwc) const;
  // Interleaved 8-bit RGB bytes, `height` rows of `width` pixels.
  torch::Tensor operator()(const std::uint8_t* rgb, std::int64_t height, std::int64_t width) const;
  // Several images of any sizes -> (B, 3, h, w).
  torch::Tensor batch(const std::vector<torch::Tensor>& hwc_images) const;

  // The steps, exposed for tests: (C, H, W) float holding 8-bit values in and out.
  torch::Tensor resize(const torch::Tensor& chw) const;
  torch::Tensor center_crop(const torch::Tensor& chw) const;

  // transformers' output size for a shortest-edge resize: (height, width).
  static std::pair<std::int64_t, std::int64_t> resized_size(std::int64_t height, std::int64_t width,
                                                            std::int64_t shortest_edge);

  const ClipImageProcessorConfig& config() const { return cfg_; }

 private:
  ClipImageProcessorConfig cfg_;
};

}  // namespace catimage
