#include <filesystem>

#include "catimage/predictor/ensemble.hpp"
#include "catimage/predictor/neural_predictor.hpp"
#include "catimage/predictor/predictor.hpp"
#include "catimage/predictor/tfidf_ridge.hpp"
#include "catimage/util/error.hpp"

namespace catimage {

std::unique_ptr<Predictor> load_predictor(const std::string& dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) fail("{}: predictor folder not found", dir);
  auto mpath = (fs::path(dir) / "predictor.json").string();
  auto meta = meta_from_json(read_json_file(mpath), mpath);
  if (meta.kind == "ensemble") return EnsemblePredictor::load(dir, std::move(meta));
  if (meta.kind == "tfidf-ridge") return TfidfRidgePredictor::load(dir, std::move(meta));
  return NeuralPredictor::load(dir, std::move(meta));
}

}  // namespace catimage
