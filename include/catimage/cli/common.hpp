#pragma once
// Pieces shared by the subcommands: default resources and predicted-quality sources.
#include <string>
#include <vector>

#include "catimage/io/candidates_config.hpp"
#include "catimage/io/prompt_reader.hpp"
#include "catimage/util/matrix.hpp"

namespace catimage::cli {

// --config if given, else the shipped configs/default.json.
CandidateSet load_config_or_default(const std::string& path);

// Warns about each skipped prompt line (the first 20, then a count).
void report_skipped(const PromptFile& pf);

// Options that choose where predicted qualities come from.
struct PredictorSource {
  std::string predictor;    // --predictor DIR
  std::string predictions;  // --predictions FILE
};

struct PromptRef {
  std::string id, prompt, where;  // where: "file:line" for messages
};

// Predicted quality (prompts x candidates, in `names` order) for the given prompts.
// Predictions files are looked up by id first, then by prompt text.
Matrix predict_qualities(const PredictorSource& src, const std::vector<PromptRef>& prompts,
                         const std::vector<std::string>& names, const std::string& config_origin);

}  // namespace catimage::cli
