#include "catimage/scoring/load_rgb.hpp"

#include <memory>

#include "catimage/util/error.hpp"

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC  // internal linkage: a test (test_generate.cpp) compiles its own copy
#define STBI_FAILURE_USERMSG
#include <stb_image.h>

namespace catimage {

torch::Tensor load_rgb(const std::string& path) {
  int w = 0, h = 0, n = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> px(stbi_load(path.c_str(), &w, &h, &n, 3), stbi_image_free);
  if (!px) fail("{}: cannot read the image ({})", path, stbi_failure_reason() ? stbi_failure_reason() : "unknown");
  return torch::from_blob(px.get(), {h, w, 3}, torch::kUInt8).clone();
}

torch::Tensor to_rgb(const torch::Tensor& hwc, const std::string& who) {
  if (hwc.dim() != 3 || hwc.scalar_type() != torch::kUInt8)
    fail("{}: expected an (H, W, C) uint8 image, got {} {}", who, c10::str(hwc.sizes()),
         c10::toString(hwc.scalar_type()));
  if (hwc.size(0) == 0 || hwc.size(1) == 0) fail("{}: empty image {}", who, c10::str(hwc.sizes()));
  switch (hwc.size(2)) {
    case 3: return hwc;
    case 4: return hwc.slice(2, 0, 3);  // PIL's convert("RGB") drops alpha
    case 1: return hwc.expand({hwc.size(0), hwc.size(1), 3});
    default: fail("{}: cannot convert a {}-channel image to RGB", who, hwc.size(2));
  }
}

}  // namespace catimage
