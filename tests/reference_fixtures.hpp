#pragma once
// The reference outputs the fixture scripts (scripts/make_*_fixtures.sh) computed with
// diffusers/transformers on the tiny random-weight models: tests/fixtures/parity/<stem>.safetensors
// (tensors) and <stem>.json (settings), and the sha256 of the weights they were made with.
#include <torch/torch.h>

#include <map>
#include <string>

#include "catimage/io/json_file.hpp"
#include "catimage/io/weights.hpp"
#include "tiny_models.hpp"

namespace catimage::test {

// The tensors of tests/fixtures/parity/<stem>.safetensors, opened once per process.
inline const WeightFiles& reference_tensors(const std::string& stem) {
  static std::map<std::string, WeightFiles> open;
  auto it = open.find(stem);
  if (it == open.end()) it = open.emplace(stem, WeightFiles::file(fixture("parity/" + stem + ".safetensors"))).first;
  return it->second;
}

// tests/fixtures/parity/<stem>.json, read once per process.
inline const json& reference_meta(const std::string& stem) {
  static std::map<std::string, json> read;
  auto it = read.find(stem);
  if (it == read.end()) it = read.emplace(stem, read_json_file(fixture("parity/" + stem + ".json"))).first;
  return it->second;
}

// max |a - b| in fp32, after checking the shapes agree.
inline float max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a.to(torch::kFloat32) - b.to(torch::kFloat32)).abs().max().item<float>();
}

// `sha256sum <globs>` run in `dir`, as the fixture scripts wrote it to parity/<sums_file>: equal
// when the tiny models catimage writes are the ones the references were computed with.
inline std::string weight_sums(const std::string& dir, const std::string& globs) {
  return command_output("cd " + dir + " && sha256sum " + globs + " 2>/dev/null");
}

}  // namespace catimage::test
