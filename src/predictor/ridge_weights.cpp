#include "predictor/ridge_weights.hpp"

#include <cstdint>
#include <cstring>

#include "catimage/io/safetensors.hpp"
#include "catimage/util/error.hpp"

namespace catimage {

void save_ridge_weights(const std::string& path, const RidgeWeights& r, const std::string& kind) {
  const std::size_t no = r.w.size(), nf = no ? r.w[0].size() : 0;
  if (r.b.size() != no) fail("{}: {} bias values for {} outputs", path, r.b.size(), no);
  TensorBlob w{"ridge.weight", DType::F32, {static_cast<std::int64_t>(no), static_cast<std::int64_t>(nf)}, {}};
  w.bytes.resize(no * nf * 4);
  for (std::size_t o = 0; o < no; ++o) {
    if (r.w[o].size() != nf) fail("{}: output {} has {} weights, output 0 has {}", path, o, r.w[o].size(), nf);
    std::memcpy(w.bytes.data() + o * nf * 4, r.w[o].data(), nf * 4);
  }
  TensorBlob b{"ridge.bias", DType::F32, {static_cast<std::int64_t>(no)}, {}};
  b.bytes.resize(no * 4);
  for (std::size_t o = 0; o < no; ++o) {
    const float v = static_cast<float>(r.b[o]);
    std::memcpy(b.bytes.data() + o * 4, &v, 4);
  }
  write_safetensors(path, {w, b}, {{"kind", kind}});
}

RidgeWeights load_ridge_weights(const std::string& path, std::size_t outputs, std::size_t features) {
  SafeTensorsFile f(path);
  const auto& wi = f.info("ridge.weight");
  const auto& bi = f.info("ridge.bias");
  const auto no = static_cast<std::int64_t>(outputs), nf = static_cast<std::int64_t>(features);
  if (wi.dtype != DType::F32 || wi.shape != std::vector<std::int64_t>{no, nf})
    fail("{}: tensor \"ridge.weight\" must be F32 [{}, {}]", f.path(), no, nf);
  if (bi.dtype != DType::F32 || bi.shape != std::vector<std::int64_t>{no})
    fail("{}: tensor \"ridge.bias\" must be F32 [{}]", f.path(), no);
  const auto* wp = static_cast<const float*>(f.data("ridge.weight"));
  const auto* bp = static_cast<const float*>(f.data("ridge.bias"));
  RidgeWeights r;
  r.w.resize(outputs);
  r.b.resize(outputs);
  for (std::size_t o = 0; o < outputs; ++o) {
    r.w[o].assign(wp + o * features, wp + (o + 1) * features);
    r.b[o] = bp[o];
  }
  return r;
}

}  // namespace catimage
