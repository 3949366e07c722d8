#include "catimage/diffusion/pixart_aspect_ratios.hpp"

#include <cmath>
#include <vector>

namespace catimage {

namespace {

struct Bin {
  double ratio;  // the key (height / width) as a number
  int height, width;
};

// ASPECT_RATIO_1024_BIN; the 512 and 256 tables are it halved and quartered.
const std::vector<Bin> kBins1024 = {
    {0.25, 512, 2048}, {0.28, 512, 1856}, {0.32, 576, 1792}, {0.33, 576, 1728}, {0.35, 576, 1664}, {0.4, 640, 1600},
    {0.42, 640, 1536}, {0.48, 704, 1472}, {0.5, 704, 1408},  {0.52, 704, 1344}, {0.57, 768, 1344}, {0.6, 768, 1280},
    {0.68, 832, 1216}, {0.72, 832, 1152}, {0.78, 896, 1152}, {0.82, 896, 1088}, {0.88, 960, 1088}, {0.94, 960, 1024},
    {1.0, 1024, 1024}, {1.07, 1024, 960}, {1.13, 1088, 960}, {1.21, 1088, 896}, {1.29, 1152, 896}, {1.38, 1152, 832},
    {1.46, 1216, 832}, {1.67, 1280, 768}, {1.75, 1344, 768}, {2.0, 1408, 704},  {2.09, 1472, 704}, {2.4, 1536, 640},
    {2.5, 1600, 640},  {3.0, 1728, 576},  {4.0, 2048, 512},
};

// ASPECT_RATIO_2048_BIN (PixArt-Σ 2K).
const std::vector<Bin> kBins2048 = {
    {0.25, 1024, 4096}, {0.26, 1024, 3968}, {0.27, 1024, 3840}, {0.28, 1024, 3712}, {0.32, 1152, 3584},
    {0.33, 1152, 3456}, {0.35, 1152, 3328}, {0.4, 1280, 3200},  {0.42, 1280, 3072}, {0.48, 1408, 2944},
    {0.5, 1408, 2816},  {0.52, 1408, 2688}, {0.57, 1536, 2688}, {0.6, 1536, 2560},  {0.68, 1664, 2432},
    {0.72, 1664, 2304}, {0.78, 1792, 2304}, {0.82, 1792, 2176}, {0.88, 1920, 2176}, {0.94, 1920, 2048},
    {1.0, 2048, 2048},  {1.07, 2048, 1920}, {1.13, 2176, 1920}, {1.21, 2176, 1792}, {1.29, 2304, 1792},
    {1.38, 2304, 1664}, {1.46, 2432, 1664}, {1.67, 2560, 1536}, {1.75, 2688, 1536}, {2.0, 2816, 1408},
    {2.09, 2944, 1408}, {2.4, 3072, 1280},  {2.5, 3200, 1280},  {2.89, 3328, 1152}, {3.0, 3456, 1152},
    {3.11, 3584, 1152}, {3.62, 3712, 1024}, {3.75, 3840, 1024}, {3.88, 3968, 1024}, {4.0, 4096, 1024},
};

}  // namespace

std::optional<std::pair<int, int>> pixart_binned_size(std::int64_t sample_size, int height, int width) {
  const std::vector<Bin>* bins = &kBins1024;
  int divisor = 1;
  switch (sample_size) {
    case 32: divisor = 4; break;
    case 64: divisor = 2; break;
    case 128: break;
    case 256: bins = &kBins2048; break;
    default: return std::nullopt;
  }
  // min(ratios, key=|float(ratio) - h/w|): the first of equally near ones
  const double ar = static_cast<double>(height) / static_cast<double>(width);
  const Bin* best = nullptr;
  double best_d = 0;
  for (const auto& b : *bins) {
    const double d = std::abs(b.ratio - ar);
    if (!best || d < best_d) best = &b, best_d = d;
  }
  return std::make_pair(best->height / divisor, best->width / divisor);
}

torch::Tensor pixart_resize_and_crop(const torch::Tensor& images, int height, int width) {
  const auto h = images.size(2), w = images.size(3);
  if (h == height && w == width) return images;
  const double ratio = std::max(static_cast<double>(height) / h, static_cast<double>(width) / w);
  const auto rw = static_cast<std::int64_t>(w * ratio), rh = static_cast<std::int64_t>(h * ratio);
  auto x = torch::nn::functional::interpolate(images, torch::nn::functional::InterpolateFuncOptions()
                                                          .size(std::vector<std::int64_t>{rh, rw})
                                                          .mode(torch::kBilinear)
                                                          .align_corners(false));
  const auto y0 = (rh - height) / 2, x0 = (rw - width) / 2;
  return x.narrow(2, y0, height).narrow(3, x0, width);
}

}  // namespace catimage
