#pragma once
// Tiny random-weight diffusers folders for tests: the configs in tests/fixtures/tiny-*
// (SD1-like, SD2-like v-prediction, SDXL-like, TAESD-like) copied to a temp folder once per
// test process and given seeded random safetensors weights.
#include <filesystem>
#include <map>
#include <string>

#include "catimage/diffusion/random_weights.hpp"
#include "catimage/scoring/clip_model.hpp"
#include "catimage/scoring/nima_model.hpp"
#include "test_util.hpp"

namespace catimage::test {

inline std::string fixture(const std::string& rel) {
  return (std::filesystem::path(CATIMAGE_SOURCE_DIR) / "tests" / "fixtures" / rel).string();
}

inline std::string tiny_model(const std::string& name) {
  static std::map<std::string, std::string> made;
  static const auto root = temp_dir();
  auto it = made.find(name);
  if (it != made.end()) return it->second;
  auto dst = root / name;
  std::filesystem::copy(fixture(name), dst, std::filesystem::copy_options::recursive);
  write_random_weights(dst.string(), 7);
  return made[name] = dst.string();
}

// The tiny CLIPModel (tests/fixtures/tiny-clip) with the random weights catimage writes with
// seed 7: the weights scripts/make_clip_fixtures.sh made the references with.
inline std::string tiny_clip() {
  static const std::string dir = [] {
    auto d = temp_dir() / "tiny-clip";
    std::filesystem::copy(fixture("tiny-clip"), d, std::filesystem::copy_options::recursive);
    write_random_clip_model_weights(d.string(), 7);
    return d.string();
  }();
  return dir;
}

// The tiny NIMA (tests/fixtures/tiny-nima: idealo's MobileNet NIMA at alpha 0.25, 224x224 input)
// with the random weights catimage writes with seed 7: the weights scripts/make_nima_fixtures.sh
// made the references with.
inline std::string tiny_nima() {
  static const std::string dir = [] {
    auto d = temp_dir() / "tiny-nima";
    std::filesystem::copy(fixture("tiny-nima"), d, std::filesystem::copy_options::recursive);
    write_random_nima_weights(d.string(), 7);
    return d.string();
  }();
  return dir;
}

}  // namespace catimage::test
