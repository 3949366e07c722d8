#pragma once
// Where predicted qualities come from for `route`, `eval` and `route --generate`: a trained
// predictor folder (default: the shipped one) or a predictions file.
#include <optional>
#include <string>
#include <vector>

#include "catimage/predictor/predictor.hpp"

#include "catimage/util/matrix.hpp"

namespace catimage {

struct PredictorSource {
  std::string predictor;    // --predictor DIR ("" and no predictions: the shipped default)
  std::string predictions;  // --predictions FILE
};

struct PromptRef {
  std::string id, prompt, where;  // where: "file:line" for messages
};

// Predicted quality (prompts x candidates, in `names` order) for the given prompts.
// Predictions files are looked up by id first, then by prompt text. The predictor or file
// must know every name; it may know more (a config routing among a subset of its candidates). `names_origin` names
// where the candidate names came from, for messages.
Matrix predict_qualities(const PredictorSource& src, const std::vector<PromptRef>& prompts,
                         const std::vector<std::string>& names, const std::string& names_origin);

// The source's predictor.json, or nullopt (a predictions file; a cascade predictor, refused
// with its own message elsewhere).
std::optional<PredictorMeta> source_meta(const PredictorSource& src);

// The guard margin the source's predictor was trained with (predictor.json "guard"); 0 for a
// predictions file.
double source_margin(const PredictorSource& src);

// The source predictor's training mean quality of each of `names` (predictor.json
// target_stats.prior): what the best single candidate is chosen by. Empty for a predictions file.
std::vector<double> source_reference_quality(const PredictorSource& src, const std::vector<std::string>& names);

}  // namespace catimage
