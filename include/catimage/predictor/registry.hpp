#pragma once
// The predictor kinds: one table (src/predictor/registry.cpp) of name -> description, train
// factory and load factory. `catimage train --kind`, train_predictor and load_predictor (the
// ensemble's members included) all go through it.
//
// Adding a kind: a source file with its Predictor subclass and its train and load factories
// (declared where registry.cpp sees them), one row in registry.cpp, and the file in
// CMakeLists.txt (catimage_torch).
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "catimage/predictor/predictor.hpp"

namespace catimage {

struct TrainRequest;  // trainer.hpp
struct TrainingSet;   // standardised targets (src/predictor/training_data.hpp)

// What a kind's trainer gets: the request, the metadata every kind shares (kind, candidates,
// metric, target statistics) and the training and validation sets.
struct TrainInput {
  const TrainRequest& req;
  const PredictorMeta& base;
  const TrainingSet& train;
  const TrainingSet& val;
};

struct PredictorKind {
  std::string name;         // as in predictor.json and `train --kind`
  std::string description;  // one line, for --help
  std::function<std::unique_ptr<Predictor>(const TrainInput& in)> train;
  std::function<std::unique_ptr<Predictor>(const std::string& dir, PredictorMeta meta)> load;
  // False when the kind can train on every labeled row with no validation set (its
  // hyper-parameters then come from the request, chosen by cross-validation).
  bool needs_validation = true;
  // True when the kind trains with the rows' weights (a table's "weight"); the others refuse a
  // weighted table rather than ignore its weights.
  bool row_weights = false;
};

// Every kind, in the order --help lists them.
const std::vector<PredictorKind>& predictor_kinds();
std::vector<std::string> predictor_kind_names();
// The kind `catimage train` trains when --kind is not given.
const std::string& default_predictor_kind();
// The kind called `name`; an unknown name fails with
// "<origin>: unknown predictor kind "<name>" (kinds: tfidf-ridge, bag, ...)".
const PredictorKind& predictor_kind(const std::string& name, const std::string& origin = "");
// "  <name>  <description>" lines, names padded to one width, for --help.
std::string predictor_kinds_help();

}  // namespace catimage
