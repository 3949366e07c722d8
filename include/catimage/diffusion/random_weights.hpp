#pragma once
// Seeded random weights for a diffusers folder that has configs but no weights: every
// component (text_encoder*, unet, vae, or a single component folder) is built from its
// config, initialised with libtorch's default (PyTorch-like) initialisation under
// torch::manual_seed, and saved as safetensors under the checkpoint key names. For tiny test
// models and architecture benchmarks; the images they make are noise.
#include <cstdint>
#include <string>
#include <vector>

namespace catimage {

// Returns the files written. Components that already have weights are left alone unless `force`.
// `dtype` (fp32, fp16, bf16) is what the files store: the weights are drawn in fp32 whatever it
// is (fp16 halves what a benchmark of a full-size model writes and reads, as real fp16 checkpoints do).
std::vector<std::string> write_random_weights(const std::string& folder, std::uint64_t seed, bool force = false,
                                              const std::string& dtype = "fp32");

}  // namespace catimage
