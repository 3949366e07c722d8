#pragma once
// Reading an image file (PNG, JPEG, BMP, ... through stb_image) as 8-bit RGB.
#include <torch/torch.h>

#include <string>

namespace catimage {

// (H, W, 3) uint8; fails naming the file when it cannot be read or decoded.
torch::Tensor load_rgb(const std::string& path);

}  // namespace catimage
