#pragma once
// Reading an image file (PNG, JPEG, BMP, ... through stb_image) as 8-bit RGB.
#include <torch/torch.h>

#include <string>

namespace catimage {

// (H, W, 3) uint8; fails naming the file when it cannot be read or decoded.
torch::Tensor load_rgb(const std::string& path);

// (H, W, C) uint8 with C = 3, 4 (alpha dropped, as PIL's convert("RGB") does) or 1 (grey,
// replicated) -> (H, W, 3) uint8; fails naming `who` for anything else.
torch::Tensor to_rgb(const torch::Tensor& hwc, const std::string& who = "image");

}  // namespace catimage
