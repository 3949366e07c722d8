#include "catimage/predictor/registry.hpp"

#include <algorithm>

#include "catimage/predictor/trainer.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/strings.hpp"
#include "predictor/ensemble.hpp"
#include "predictor/neural_predictor.hpp"
#include "predictor/tfidf_ridge.hpp"

namespace catimage {

namespace {

// The bag, transformer and knn kinds: one NeuralPredictor class, told its nets and output by `arch`.
PredictorKind neural_kind(const char* name, const char* description, NeuralArch arch) {
  auto train = [arch](const TrainInput& in) { return train_neural(in, arch, in.req.seed); };
  auto load = [arch](const std::string& dir, PredictorMeta meta) {
    return NeuralPredictor::load(dir, std::move(meta), arch);
  };
  return {name, description, train, load};
}

}  // namespace

const std::vector<PredictorKind>& predictor_kinds() {
  static const std::vector<PredictorKind> kinds = {
      {"tfidf-ridge",
       "TF-IDF word 1-2-grams and char 2-5-grams, one ridge regression per output (the shipped predictors)",
       train_tfidf_ridge, TfidfRidgePredictor::load, /*needs_validation=*/false, /*row_weights=*/true},
      neural_kind("bag", "embedding bag over sentencepiece pieces, hashed piece and char n-grams, prompt statistics",
                  kBagArch),
      neural_kind("transformer", "small transformer encoder over sentencepiece pieces", kTransformerArch),
      neural_kind("knn", "targets of the k nearest training prompts in a bag net's learned embedding", kKnnArch),
      {"ensemble", "a tfidf-ridge and seed-bagged bag nets, weighted", train_ensemble, EnsemblePredictor::load},
  };
  return kinds;
}

const std::string& default_predictor_kind() {
  static const std::string kind = "tfidf-ridge";  // chosen by cross-validation (README, Predictors)
  return kind;
}

std::vector<std::string> predictor_kind_names() {
  std::vector<std::string> names;
  for (const auto& k : predictor_kinds()) names.push_back(k.name);
  return names;
}

const PredictorKind& predictor_kind(const std::string& name, const std::string& origin) {
  for (const auto& k : predictor_kinds())
    if (k.name == name) return k;
  fail("{}unknown predictor kind \"{}\" (kinds: {})", origin.empty() ? "" : origin + ": ", name,
       join(predictor_kind_names(), ", "));
}

std::string predictor_kinds_help() {
  std::size_t width = 0;
  for (const auto& k : predictor_kinds()) width = std::max(width, k.name.size());
  std::string out;
  for (const auto& k : predictor_kinds())
    out += fmt::format("{}  {:<{}}  {}", out.empty() ? "" : "\n", k.name, width, k.description);
  return out;
}

}  // namespace catimage
