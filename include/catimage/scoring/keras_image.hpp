#pragma once
// Images as idealo's NIMA predict path prepares them (src/handlers/data_generator.py,
// TestDataGenerator): keras_preprocessing's load_img(path, target_size=(S, S)), which is PIL's
// convert("RGB") and Image.resize((S, S), NEAREST) (load_img's default interpolation; the aspect
// ratio is not kept), into a float64 batch, then keras-applications' mobilenet.preprocess_input
// (mode "tf": x / 127.5 - 1), fed to the model as float32.
// PIL's nearest resize (ImagingScaleAffine) takes source column floor(x0 + a / 2 + i a) with
// a = in / out, the position accumulated in double one column at a time; so here.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace catimage {

// The source index of each of `out` positions when PIL resizes `in` to `out` with NEAREST.
std::vector<std::int64_t> pil_nearest_indices(std::int64_t in, std::int64_t out);

// (H, W, C) uint8 -> (height, width, C) uint8, PIL's Image.resize((width, height), NEAREST).
torch::Tensor resize_nearest_like_pil(const torch::Tensor& hwc, std::int64_t height, std::int64_t width);

// keras-applications' preprocess_input(mode="tf") of 8-bit values: x / 127.5 - 1 in float64,
// then float32. (H, W, 3) uint8 -> (1, 3, H, W) float32.
torch::Tensor keras_tf_preprocess(const torch::Tensor& hwc_rgb);

// All of it for one image: to_rgb (load_rgb.hpp), the nearest resize to size x size, keras_tf_preprocess.
torch::Tensor keras_load_img_pixels(const torch::Tensor& hwc, std::int64_t size);

}  // namespace catimage
