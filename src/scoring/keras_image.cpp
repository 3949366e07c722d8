#include "catimage/scoring/keras_image.hpp"

#include "catimage/scoring/load_rgb.hpp"
#include "catimage/util/error.hpp"

namespace catimage {

std::vector<std::int64_t> pil_nearest_indices(std::int64_t in, std::int64_t out) {
  if (in < 1 || out < 1) fail("nearest resize: sizes must be positive, got {} -> {}", in, out);
  // Pillow's _resize: a[0] = (double)(box[2] - box[0]) / xsize with a float box of the whole
  // image; ImagingScaleAffine: xo = a[2] + a[0] * 0.5, then xin = (int)xo and xo += a[0] per column.
  const double step = static_cast<double>(static_cast<float>(in)) / static_cast<double>(out);
  std::vector<std::int64_t> idx(static_cast<std::size_t>(out));
  double pos = 0.0 + step * 0.5;
  for (auto& i : idx) {
    // pos < in always (it is at most in - step / 2 plus rounding far below step / 2)
    i = std::min<std::int64_t>(static_cast<std::int64_t>(pos), in - 1);
    pos += step;
  }
  return idx;
}

torch::Tensor resize_nearest_like_pil(const torch::Tensor& hwc, std::int64_t height, std::int64_t width) {
  if (hwc.dim() != 3) fail("nearest resize: expected an (H, W, C) image, got {}", c10::str(hwc.sizes()));
  if (hwc.size(0) == height && hwc.size(1) == width) return hwc;  // load_img resizes only when the size differs
  auto as_tensor = [](const std::vector<std::int64_t>& v) {
    return torch::tensor(v, torch::TensorOptions().dtype(torch::kInt64));
  };
  auto rows = as_tensor(pil_nearest_indices(hwc.size(0), height));
  auto cols = as_tensor(pil_nearest_indices(hwc.size(1), width));
  return hwc.index_select(0, rows.to(hwc.device())).index_select(1, cols.to(hwc.device()));
}

torch::Tensor keras_tf_preprocess(const torch::Tensor& hwc_rgb) {
  // numpy: x /= 127.5; x -= 1. on idealo's float64 batch; Keras casts it to float32 for the model.
  auto x = hwc_rgb.to(torch::kFloat64).div(127.5).sub(1.0).to(torch::kFloat32);
  return x.permute({2, 0, 1}).unsqueeze(0).contiguous();
}

torch::Tensor keras_load_img_pixels(const torch::Tensor& hwc, std::int64_t size) {
  return keras_tf_preprocess(resize_nearest_like_pil(to_rgb(hwc, "NIMA image"), size, size));
}

}  // namespace catimage
