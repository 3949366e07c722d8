#pragma once
// PixArt's resolution binning (diffusers' use_resolution_binning, on by default): a requested
// size is generated at the trained size of the nearest aspect ratio (ASPECT_RATIO_256/512/
// 1024_BIN of PixArtAlphaPipeline, ASPECT_RATIO_2048_BIN of PixArtSigmaPipeline, chosen by
// the transformer's sample_size 32/64/128/256), then the image is resized (bilinear) and
// centre-cropped back to the requested size.
#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <utility>

namespace catimage {

// (height, width) of the bin nearest height/width, or nullopt when sample_size has no table.
std::optional<std::pair<int, int>> pixart_binned_size(std::int64_t sample_size, int height, int width);

// diffusers' resize_and_crop_tensor: (B, C, h, w) -> (B, C, height, width), bilinear
// (align_corners false) to cover the target, then the centre crop.
torch::Tensor pixart_resize_and_crop(const torch::Tensor& images, int height, int width);

}  // namespace catimage
