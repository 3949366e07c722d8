#pragma once
// Importer for the CEMS per-prompt tables (Lee & Lee, CIKM'24): a folder of
// `<metric>_score_with_time_<MODEL>.csv` files with columns
// dataset_id,prompt_id,prompt,mean_time,<metric>_score, the same prompts in every file.
// Produces a quality table (candidates = MODEL names, per-prompt cost = mean_time) and a
// matching candidates config (cost = mean of the per-prompt times).
#include <string>

#include "catimage/io/candidates_config.hpp"
#include "catimage/io/quality_table.hpp"

namespace catimage {

struct CemsImport {
  QualityTable table;
  CandidateSet config;
};

CemsImport import_cems(const std::string& dir, const std::string& metric);

}  // namespace catimage
