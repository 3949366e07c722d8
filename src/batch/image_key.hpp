#pragma once
// The identity of an image: a hash of everything that determines its pixels. Resume skips an
// image only when the key recorded for it (in the manifest and inside the PNG) equals the key
// the run would generate now, so an edited prompt, another candidate, other settings, other
// weights or another seed always regenerate.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "catimage/io/json_file.hpp"

namespace catimage {

// Identity of a model folder or file without reading all of it: every file's relative path
// and size, the contents of small files (configs, tokenizers) and the first and last 64 KiB
// of large ones (weights). Cached per path.
class FolderIdentity {
 public:
  std::string of(const std::string& path);

 private:
  std::map<std::string, std::string> cache_;
};

// The fields that determine an image, in the form they are hashed and recorded.
struct ImageIdentity {
  std::string prompt, negative_prompt;
  std::string candidate, family, weights, vae;  // weights/vae: FolderIdentity values
  std::string scheduler;                        // "" : the folder's own
  std::uint64_t seed = 0;
  int width = 0, height = 0, steps = 0;  // width/height 0: the model's default size
  double guidance = 0;
  std::string dtype;  // resolved: fp32 | fp16 | bf16
  // The LoRAs merged into the weights, in order: each file's FolderIdentity and its scale. Hashed
  // only when there are any, so the keys of images made without a LoRA are what they were.
  std::vector<std::pair<std::string, double>> loras;

  json to_json() const;
  std::string key() const;  // 32 hex digits
};

}  // namespace catimage
