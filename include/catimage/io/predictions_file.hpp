#pragma once
// Precomputed predicted qualities (`--predictions`): a quality-table-shaped JSONL whose
// "quality" holds the predicted quality of every candidate. Looked up by id or by prompt text.
#include <string>
#include <unordered_map>

#include "catimage/io/quality_table.hpp"

namespace catimage {

class PredictionsFile {
 public:
  explicit PredictionsFile(const std::string& path);
  const QualityTable& table() const { return table_; }
  // nullptr when absent
  const QualityRecord* by_id(const std::string& id) const;
  const QualityRecord* by_prompt(const std::string& prompt) const;

 private:
  QualityTable table_;
  std::unordered_map<std::string, std::size_t> ids_, prompts_;
};

}  // namespace catimage
