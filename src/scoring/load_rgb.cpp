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

}  // namespace catimage
