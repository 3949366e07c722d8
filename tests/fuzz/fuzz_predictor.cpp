// libFuzzer harness: predictor.json and ensemble member loading (load_predictor ->
// meta_from_json in src/predictor/predictor.cpp -> EnsemblePredictor::load in
// src/predictor/ensemble.cpp), linked with fuzz_predictor_stubs.cpp instead of the rest of
// the predictor runtime (the member kinds other than "ensemble" load a stand-in).
//
// The input is up to four NUL-separated parts: the top folder's predictor.json, then the
// predictor.json of members m1, m2 and m3 (members/m1 ...). members/loop is a symlink to the
// top folder and every member folder's members/ is a symlink to the top's members/, so
// ensembles of ensembles and member lists that loop back are reachable. Loading must fail with
// catimage::Error or give a predictor whose metadata is consistent; never crash or recurse
// without end.
#include <cstring>
#include <filesystem>

#include "catimage/predictor/predictor.hpp"
#include "catimage/util/error.hpp"
#include "fuzz_common.hpp"

using namespace catimage;
namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string top = [] {
    const std::string d = fuzz::scratch_dir() + "/pred";
    fs::create_directories(d + "/members");
    for (const char* m : {"m1", "m2", "m3"}) {
      fs::create_directories(d + "/members/" + m);
      fs::create_directory_symlink("..", d + "/members/" + m + "/members");
    }
    fs::create_directory_symlink("..", d + "/members/loop");
    return d;
  }();
  std::vector<std::string> parts(4);
  std::size_t k = 0;
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == 0 && k < 3) {
      ++k;
      continue;
    }
    parts[k] += static_cast<char>(data[i]);
  }
  fuzz::write_input("pred/predictor.json", parts[0]);
  for (int m = 1; m <= 3; ++m) fuzz::write_input("pred/members/m" + std::to_string(m) + "/predictor.json", parts[m]);
  try {
    auto p = load_predictor(top);
    const auto& meta = p->meta();
    FUZZ_CHECK(meta.stats.prior.size() == meta.candidates.size());
    // Saving the metadata and reading it back gives the same metadata.
    const json j = meta_to_json(meta);
    const PredictorMeta back = meta_from_json(json::parse(j.dump()), "round-trip");
    FUZZ_CHECK(back.kind == meta.kind && back.candidates == meta.candidates && back.metric == meta.metric);
    FUZZ_CHECK(back.stats.prior == meta.stats.prior && back.model == meta.model && back.training == meta.training);
  } catch (const Error&) {
  }
  return 0;
}
