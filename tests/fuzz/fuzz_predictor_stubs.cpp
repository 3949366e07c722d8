// Stand-ins for the predictor runtime that fuzz_predictor.cpp does not exercise, so that the
// real predictor.cpp, load_predictor.cpp and ensemble.cpp link without the rest of
// catimage_torch (training, nets, TF-IDF, sentencepiece). None of these may ever be called
// while fuzzing (each aborts), except the registry, which mirrors registry.cpp's kind names:
// "ensemble" loads through the real EnsemblePredictor::load, the other kinds load a
// FakePredictor from their (already parsed) predictor.json.
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "catimage/predictor/registry.hpp"
#include "catimage/util/error.hpp"
#include "catimage/util/strings.hpp"
#include "predictor/confidence.hpp"
#include "predictor/ensemble.hpp"
#include "predictor/neural_predictor.hpp"
#include "predictor/tfidf_ridge.hpp"
#include "predictor/training_data.hpp"

namespace catimage {

[[noreturn]] static void not_fuzzed(const char* what) {
  std::fprintf(stderr, "fuzz_predictor: stub %s called\n", what);
  std::abort();
}

namespace {
class FakePredictor : public Predictor {
 public:
  using Predictor::Predictor;
  void predict_raw(const std::vector<std::string>&, Matrix&, std::vector<double>&) const override {
    not_fuzzed("FakePredictor::predict_raw");
  }
  void save(const std::string&) const override { not_fuzzed("FakePredictor::save"); }
};

std::unique_ptr<Predictor> load_fake(const std::string& dir, PredictorMeta meta) {
  if (!std::filesystem::is_directory(dir)) not_fuzzed("member loader on a missing folder");
  return std::make_unique<FakePredictor>(std::move(meta));
}
}  // namespace

const std::vector<PredictorKind>& predictor_kinds() {
  static const std::vector<PredictorKind> kinds = {
      {"tfidf-ridge", "", nullptr, load_fake},
      {"bag", "", nullptr, load_fake},
      {"transformer", "", nullptr, load_fake},
      {"knn", "", nullptr, load_fake},
      {"ensemble", "", nullptr, EnsemblePredictor::load},
  };
  return kinds;
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

// Not exercised.
double Confidence::shrink(double) const { not_fuzzed("Confidence::shrink"); }
double LengthRange::shrink(int) const { not_fuzzed("LengthRange::shrink"); }
ValidationScore validation_score(const TrainRequest&, const Predictor&, const TrainingSet&) {
  not_fuzzed("validation_score");
}
Confidence calibrate_confidence(const Predictor&, const TrainingSet&, const TrainRequest&) {
  not_fuzzed("calibrate_confidence");
}
std::unique_ptr<TfidfRidgePredictor> train_tfidf_ridge(const TrainInput&) { not_fuzzed("train_tfidf_ridge"); }
void TfidfRidgePredictor::predict_raw(const std::vector<std::string>&, Matrix&, std::vector<double>&) const {
  not_fuzzed("TfidfRidgePredictor::predict_raw");
}
void TfidfRidgePredictor::save(const std::string&) const { not_fuzzed("TfidfRidgePredictor::save"); }
std::unique_ptr<NeuralPredictor> train_neural(const TrainInput&, NeuralArch, std::uint64_t) {
  not_fuzzed("train_neural");
}
void NeuralPredictor::predict_raw(const std::vector<std::string>&, Matrix&, std::vector<double>&) const {
  not_fuzzed("NeuralPredictor::predict_raw");
}
void NeuralPredictor::save(const std::string&) const { not_fuzzed("NeuralPredictor::save"); }
std::string NeuralPredictor::input_signature() const { not_fuzzed("NeuralPredictor::input_signature"); }
NeuralPredictor::Batch NeuralPredictor::prepare(const std::vector<std::string>&) const {
  not_fuzzed("NeuralPredictor::prepare");
}
void NeuralPredictor::run_batch(const Batch&, std::size_t, Matrix&, std::vector<double>&) const {
  not_fuzzed("NeuralPredictor::run_batch");
}

}  // namespace catimage
